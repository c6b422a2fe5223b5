"""Answer latency over the seeds, pipeline overhead and digest time.

    python bench/latency.py [--interleaved] [--read-ahead]

- time to first token and total time for 10 seed questions (median), and for an answered follow-up each
  (asked with the Answer as history, so it continues that answer's conversation; then again with
  the answer's text, so the conversation is written out and re-read, for comparison)
  (with --interleaved, another question is answered between each question and its follow-up, as
  in the app when other users' questions arrive between one user's turns);
- tokens/s of the pipeline's generation next to a bare llama-cpp call on the same prompt;
- the median ratio of a first question's time to first token to llama.cpp's bare evaluation of
  the same prompt from an empty context (overhead and hardware limit side by side);
- digest time for the 21 seed papers, cold and cached.

With --read-ahead the seeds are first read ahead as a question's best source (``Library.read_ahead``,
what the app does after its background summaries), timed, so first questions start from the
prompt cache's saved states; without it first questions read their whole prompt.
"""

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library  # noqa: E402
from rag import prompts  # noqa: E402
from rag.llm import Options, events  # noqa: E402

QUESTIONS = [
    "Which paper uses k-means cross-attention for segmentation?",
    "How long does it take to train BERT with large batch optimization?",
    "What memory budget does on-device training target?",
    "How does DocTer extract input constraints?",
    "What is Monolith used for?",
    "Which accelerator extracts timing from nuclear detector signals?",
    "What search space does MnasNet use?",
    "How does NeuRI generate DNN models?",
    "What does ByteTransformer optimise for variable-length inputs?",
    "How does Primer make transformers more efficient?",
]
# A follow-up per question, answerable from the same abstract ("it" is resolved from the chat).
FOLLOW_UPS = [
    "What does it reach on COCO?",
    "Which optimizer does it use?",
    "How much Flash memory does it use?",
    "How many bugs did it detect?",
    "Which product has it landed in?",
    "What signals does it process?",
    "What latency does it reach on a Pixel phone?",
    "How many new bugs does it find?",
    "Which BERT-like models does it also support?",
    "How much does it reduce the training cost?",
]

# Asked between a question and its follow-up with --interleaved; not one of QUESTIONS, whose
# first-question timings would otherwise come from a cached prompt.
OTHER_USER_QUESTION = "What does OneFlow redesign in distributed deep learning frameworks?"


def main(interleaved: bool = False, read_ahead: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "store")
        library.ingest([ROOT / "seeds" / "digest-2023-03-11.txt"])
        llm = library.llm()
        llm.count_tokens("warm-up")  # model load is start-up, not question latency
        ahead = {}
        if read_ahead:
            started = time.perf_counter()
            ahead["read_ahead_papers"] = library.read_ahead(background=False)
            ahead["read_ahead_s"] = round(time.perf_counter() - started, 1)
            ahead["prompt_cache_mb"] = round(llm.prompt_cache_bytes / 2**20, 1)
        first, total, follow_first, answered, follow_answered = [], [], [], 0, 0
        written_first, written_answered = [], 0
        prompts_seen, bare_ratios = record_prompts(llm), []
        for question, follow_up in zip(QUESTIONS, FOLLOW_UPS):
            prompts_seen.clear()
            answer = library.ask(question)
            first.append(answer.timings.get("first_token", answer.timings["total"]))
            first_prompt = prompts_seen[0] if prompts_seen and "first_token" in answer.timings else None
            total.append(answer.timings["total"])
            answered += not answer.abstained
            if interleaved:
                library.ask(OTHER_USER_QUESTION)
            follow = library.ask(follow_up, history=[(question, answer)])
            if not follow.abstained:  # a refusal before generation is not a latency
                follow_first.append(follow.timings["first_token"])
                follow_answered += 1
            # The same follow-up with the history as text: the conversation written out and re-read.
            written = library.ask(follow_up, history=[(question, answer.text)])
            if not written.abstained:
                written_first.append(written.timings["first_token"])
                written_answered += 1
            if first_prompt:  # timed after the follow-up, whose cached prefix the reset would drop
                bare_ratios.append(answer.timings["first_token"] / bare_prompt_seconds(llm, first_prompt))
        overhead = pipeline_vs_bare(library, llm)
        started = time.perf_counter()
        library.digest()
        cold = time.perf_counter() - started
        started = time.perf_counter()
        library.digest()
        cached = time.perf_counter() - started
    return {"interleaved": interleaved, **ahead, "questions": len(QUESTIONS), "answered": answered,
            "median_first_token_s": round(statistics.median(first), 2),
            "median_total_s": round(statistics.median(total), 2),
            "first_token_over_bare_prompt_eval": round(statistics.median(bare_ratios), 2) if bare_ratios else None,
            "follow_ups_answered": follow_answered,
            "median_follow_up_first_token_s": round(statistics.median(follow_first), 2) if follow_first else None,
            "written_out_follow_ups_answered": written_answered,
            "median_written_out_follow_up_first_token_s":
                round(statistics.median(written_first), 2) if written_first else None,
            **overhead, "digest_21_cold_s": round(cold, 1), "digest_21_cached_s": round(cached, 3)}


def record_prompts(llm) -> list:
    """The messages of every completion the model makes from now on (first questions' prompts),
    from the model's instrumentation hook."""
    seen = []
    events.subscribe(lambda event: seen.append(event.messages) if event.kind == "completion" else None)
    return seen


def bare_prompt_seconds(llm, messages) -> float:
    """llama.cpp's own time to evaluate the same prompt from an empty context: the hardware's
    limit for a first token, which the pipeline's time to first token is compared with. (Nothing
    reused: a first question's prompt shares no prefix but the system text.)"""
    return llm.read(messages, fresh=True).total_s


def pipeline_vs_bare(library, llm) -> dict:
    """Generation tokens/s through ``ask`` (stream parsing, checks) and through a bare call."""
    question = QUESTIONS[1]
    hits = library.search(question, k=3)
    sources = [(h.title, library.get(h.paper_id).abstract[:600]) for h in hits]
    messages = prompts.qa_messages(prompts.qa_user_message(sources, question, []))
    rates = {"bare": [], "pipeline": []}
    for _ in range(3):
        for name in rates:
            llm.count_tokens("x")
            started = time.perf_counter()
            if name == "bare":
                text = llm.complete(messages, Options(max_tokens=80, json_schema=prompts.QA_SCHEMA))
            else:
                from rag.qa import AnswerStreamParser, check_answer
                from rag.sources import prepare

                parser = AnswerStreamParser()
                for piece in llm.stream(messages, Options(max_tokens=80, json_schema=prompts.QA_SCHEMA)):
                    parser.feed(piece)
                papers = {h.paper_id: library.get(h.paper_id) for h in hits}
                check_answer(question, parser.raw, prepare(hits, papers), library.settings)
                text = parser.raw
            rates[name].append(llm.count_tokens(text) / (time.perf_counter() - started))
    bare, pipe = statistics.median(rates["bare"]), statistics.median(rates["pipeline"])
    return {"bare_tokens_per_s": round(bare, 1), "pipeline_tokens_per_s": round(pipe, 1),
            "pipeline_overhead": round(bare / pipe - 1, 3)}


if __name__ == "__main__":
    print(json.dumps(main(interleaved="--interleaved" in sys.argv[1:], read_ahead="--read-ahead" in sys.argv[1:]),
                     indent=2))
