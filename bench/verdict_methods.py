"""Compare ways of turning the model's Yes/No/Maybe scores into a verdict, from one eval run.

    rag eval qa --data ../shared/eval/pubmedqa_dev.jsonl --details qa.jsonl > qa.json
    python bench/verdict_methods.py qa.jsonl qa.json

Every answered yes/no question's details line carries the model's log-probabilities of "Yes",
"No" and "Maybe" at the start of its answer (``verdict_scores``), and the report the content-free
baseline the pipeline measured (``verdict_baseline``), so each method below is computed on the
same scores without asking the model again:

- raw: the most probable word, which is what greedy decoding starts the answer with;
- calibrated: contextual calibration (divide by the content-free probabilities), the pipeline's method;
- calibrated, yes/no only: the same, never "maybe";
- prior-matched: thresholds set so the verdicts' shares match this split's gold shares (uses the
  labels, so it is an upper bound for label-free methods, not a method to ship).
"""

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.verdict import calibrated, probabilities  # noqa: E402

WORDS = ("Yes", "No", "Maybe")


def prior_matched(rows: list[dict]) -> list[str]:
    """Verdicts from log-odds thresholds chosen so the shares match the gold shares."""
    gold = Counter(r["expected"] for r in rows)
    n = len(rows)
    p = [probabilities(r["verdict_scores"]) for r in rows]
    by_maybe = sorted(range(n), key=lambda i: -p[i]["Maybe"])
    maybe = set(by_maybe[:gold["maybe"]])
    rest = sorted((i for i in range(n) if i not in maybe), key=lambda i: -(p[i]["No"] / (p[i]["Yes"] + 1e-9)))
    no = set(rest[:gold["no"]])
    return ["maybe" if i in maybe else "no" if i in no else "yes" for i in range(n)]


def main(details: str, report: str) -> dict:
    rows = [json.loads(line) for line in open(details)]
    baseline = next(iter(json.load(open(report))["verdict_baseline"].values()))
    scored = [r for r in rows if r.get("verdict_scores") and not r["abstained"]]
    methods = {
        "raw": [max(WORDS, key=lambda w: r["verdict_scores"][w]).lower() for r in scored],
        "calibrated": [max(WORDS, key=calibrated(r["verdict_scores"], baseline).get).lower() for r in scored],
        "calibrated, yes/no only": [max(("Yes", "No"), key=calibrated(r["verdict_scores"], baseline).get).lower()
                                    for r in scored],
        "prior-matched (uses labels)": prior_matched(scored),
        "always yes": ["yes"] * len(scored),
    }
    out = {"questions": len(rows), "answered_with_scores": len(scored), "baseline": baseline,
           "gold": dict(Counter(r["expected"] for r in scored)), "methods": {}}
    for name, verdicts in methods.items():
        right = sum(v == r["expected"] for v, r in zip(verdicts, scored))
        out["methods"][name] = {"accuracy_answered": round(right / len(scored), 3),
                                "accuracy_all": round(right / len(rows), 3),
                                "verdicts": dict(Counter(verdicts))}
    return out


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3]), indent=1))
