"""Whether a question asked again gets the same answer (the second time the model's context holds
the whole prompt, so only the re-read tail is evaluated).

    python bench/same_answer.py

A fresh store with the seeds; bench/latency.py's 10 questions are asked, then asked again in the
same process. Prints how many answers came out identical, the ones that did not, and the first
answers (to compare a change against the code before it).
"""

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import QUESTIONS  # noqa: E402

from rag import Library  # noqa: E402


def main() -> dict:
    with tempfile.TemporaryDirectory(prefix="rag-same-answer-") as tmp:
        library = Library(tmp)
        library.ingest([ROOT / "seeds" / "papers.jsonl"])
        first = [library.ask(q).text for q in QUESTIONS]
        again = [library.ask(q).text for q in QUESTIONS]
    return {"identical": sum(a == b for a, b in zip(first, again)), "questions": len(QUESTIONS),
            "differing": [{"question": q, "first": a, "again": b}
                          for q, a, b in zip(QUESTIONS, first, again) if a != b],
            "first_answers": first}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1, ensure_ascii=False))
