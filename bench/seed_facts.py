"""Right answers over the seeds: 30 questions whose fact is in one seed abstract and 10 near-topic
ones it does not answer (issue 30's kinds: counts beside other counts, one model's figure beside
another's, named hardware, expanded names).

    python bench/seed_facts.py [--out FILE]

Run with the ``RAG_*`` settings under test (e.g. ``RAG_MODEL=...``). An answer is right when it is
not refused and holds an expected string (case-insensitive, not inside a longer number or word); an
unanswerable question must be refused. A bare name or number answer is judged alone, not with the
cited sentence shown after it. Reports right, wrong, refused and the median time to
first token and whole answer (questions asked in the file's order, one library, no read-ahead).
The questions were written from the seed abstracts to measure methods; they are not a training set.
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library  # noqa: E402
from rag.qa import bare  # noqa: E402

FACTS = ROOT / "bench" / "seed_facts" / "seed_facts.jsonl"


def holds(text: str, expected: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(expected)}(?![\w])", text, re.I) is not None


def stated(text: str) -> str:
    """What the answer gives as the fact: a bare name or number before the cited sentence
    ("59: DocTer detects 94 bugs ...", ``qa.with_its_evidence``) is the answer, not the sentence."""
    head, _, rest = text.partition(": ")
    return head if rest and bare(head) else text


def main(out: Path | None) -> dict:
    rows = [json.loads(line) for line in FACTS.read_text().splitlines()]
    details, first, total = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "store")
        library.ingest([ROOT / "seeds" / "digest-2023-03-11.txt"])
        library.llm().count_tokens("warm-up")  # model load is start-up, not question latency
        for row in rows:
            answer = library.ask(row["question"])
            right = not answer.abstained and any(holds(stated(answer.text), e) for e in row["answers"])
            if not answer.abstained:
                first.append(answer.timings.get("first_token", answer.timings["total"]))
                total.append(answer.timings["total"])
            details.append({**row, "text": answer.text, "refused": answer.abstained, "right": right,
                            "reason": answer.reason, "timings": answer.timings})
        library.close()
    if out:
        out.write_text("".join(json.dumps(d) + "\n" for d in details))
    answerable = [d for d in details if d["answers"]]
    unanswerable = [d for d in details if not d["answers"]]
    return {
        "answerable": len(answerable),
        "right": sum(d["right"] for d in answerable),
        "wrong": sum(not d["right"] and not d["refused"] for d in answerable),
        "refused": sum(d["refused"] for d in answerable),
        "unanswerable": len(unanswerable),
        "unanswerable_refused": sum(d["refused"] for d in unanswerable),
        "median_first_token_s": round(statistics.median(first), 2) if first else None,
        "median_total_s": round(statistics.median(total), 2) if total else None,
        "answered_by_the_larger_model": sum("larger_model" in d["timings"] for d in details),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write each question's answer here (JSON lines)")
    print(json.dumps(main(parser.parse_args().out)))
