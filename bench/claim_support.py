"""Would a sentence-level support check tell absent from present yes/no answers? (no model)

    python bench/claim_support.py abstention.jsonl [--window 1]

Reads the ``--details`` file of ``rag eval abstention`` and, for every answer that was given,
scores each of its claim sentences (the verdict opening removed) by the best share of its
content terms found in one sentence (or ``--window`` adjacent sentences) of the cited abstract.
Reports how many present and absent answers a check at each threshold would keep: the absent
ones restate the question ("Yes. The abstract reports that <question>"), so the question is
whether their claims are less concentrated in one source sentence than present answers' are.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.grounding import content_terms, sentences  # noqa: E402
from rag.verdict import OPENINGS  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "pubmedqa_dev.jsonl"


def claims(text: str) -> list[str]:
    for opening in OPENINGS.values():
        if text.startswith(opening):
            text = text[len(opening):]
    return [s for s in sentences(text.strip()) if content_terms(s)]


def best_support(claim: str, source: list[str], window: int) -> float:
    terms = content_terms(claim)
    spans = [set().union(*(content_terms(s) for s in source[i:i + window])) for i in range(len(source))]
    return max((len(terms & span) / len(terms) for span in spans), default=0.0)


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("details")
    parser.add_argument("--window", type=int, default=1)
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    abstracts = {f"pmid:{row['pmid']}": row["abstract"] for row in map(json.loads, open(args.data, encoding="utf-8"))}
    weakest = {"present": [], "absent": []}
    for row in map(json.loads, open(args.details, encoding="utf-8")):
        said = claims(row["text"]) if not row["abstained"] and row["cited"] else []
        if said:
            source = sentences(abstracts[row["cited"][0]])
            weakest["present" if row["present"] else "absent"].append(
                min(best_support(c, source, args.window) for c in said))
    return {"answers": {k: len(v) for k, v in weakest.items()},
            "kept_at_threshold": {t: {k: sum(s >= t for s in v) for k, v in weakest.items()}
                                  for t in (0.3, 0.4, 0.5, 0.6, 0.7)}}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
