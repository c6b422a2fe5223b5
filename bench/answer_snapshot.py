"""Every answer the seed questions get, written down to compare two versions of the code.

    python bench/answer_snapshot.py > answers.jsonl

A fresh store with the seeds. bench/latency.py's 10 questions, each followed by its follow-up
(asked with the Answer as history, then with the answer's text), three yes/no questions and a
topic question: one JSON line per answer with its text, citations, refusal kind and verdict.
Only the public API is used, so the same script runs on any version; `diff` the two files.
"""

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import FOLLOW_UPS, QUESTIONS  # noqa: E402

from rag import Library  # noqa: E402

YES_NO = [
    "Does LAMB train BERT in 76 minutes?",
    "Is Monolith used for real-time recommendation?",
    "Does Primer reduce the training cost of transformers?",
]
TOPIC = "What do these abstracts say about fuzzing deep learning libraries?"


def row(question: str, answer, asked_with: str = "") -> dict:
    return {"question": question, "history": asked_with, "text": answer.text,
            "citations": [c.paper_id for c in answer.citations],
            "refusal": answer.refusal.value if answer.refusal else None, "verdict": answer.verdict}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rag-snapshot-") as tmp:
        library = Library(tmp)
        library.ingest([ROOT / "seeds" / "digest-2023-03-11.txt"])
        for question, follow_up in zip(QUESTIONS, FOLLOW_UPS):
            answer = library.ask(question)
            print(json.dumps(row(question, answer), ensure_ascii=False), flush=True)
            follow = library.ask(follow_up, history=[(question, answer)])
            print(json.dumps(row(follow_up, follow, "answer"), ensure_ascii=False), flush=True)
            written = library.ask(follow_up, history=[(question, answer.text)])
            print(json.dumps(row(follow_up, written, "text"), ensure_ascii=False), flush=True)
        for question in [*YES_NO, TOPIC]:
            print(json.dumps(row(question, library.ask(question)), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
