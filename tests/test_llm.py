"""The in-process model's scheduling, without loading a model."""

import threading
import time
from pathlib import Path

from rag.llm import LocalLLM


def test_a_waiting_question_takes_the_model_before_the_next_background_summary():
    llm = LocalLLM(Path("never-loaded.gguf"), "m", "chatml", n_ctx=2048, seed=42)
    order, first_holds, release_first = [], threading.Event(), threading.Event()

    def summaries():  # a background run: the next summary asks for the model as soon as one ends
        for n in (1, 2):
            with llm.scheduler.hold(background=True):
                order.append(f"summary {n}")
                if n == 1:
                    first_holds.set()
                    release_first.wait(10)

    def question():
        with llm.scheduler.hold(background=False):
            order.append("question")

    background = threading.Thread(target=summaries)
    background.start()
    assert first_holds.wait(10)
    asking = threading.Thread(target=question)
    asking.start()
    deadline = time.monotonic() + 10
    while llm.scheduler._waiting != 1 and time.monotonic() < deadline:  # the question queues for the model
        time.sleep(0.01)
    release_first.set()
    background.join(10)
    asking.join(10)
    assert order == ["summary 1", "question", "summary 2"]
    assert llm.scheduler._waiting == 0 and llm.scheduler._lock.acquire(blocking=False)  # nothing left holding the lock


def test_counting_tokens_does_not_wait_for_a_background_summary():
    class Vocabulary:  # stands in for the loaded model: only its tokenizer is used
        def tokenize(self, text, add_bos, special):
            return text.split()

    llm = LocalLLM(Path("never-loaded.gguf"), "m", "chatml", n_ctx=2048, seed=42)
    llm._llama = Vocabulary()
    holding, release = threading.Event(), threading.Event()

    def summary():
        with llm.scheduler.hold(background=True):
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=summary)
    worker.start()
    assert holding.wait(10)
    counted = []
    counter = threading.Thread(target=lambda: counted.append(llm.count_tokens(b"three short words".decode())))
    counter.start()
    counter.join(2)
    release.set()
    worker.join(10)
    assert counted == [3]  # counted while the summary still held the model
