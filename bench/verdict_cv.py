"""When is a yes/no verdict clear enough to show? PubMedQA dev, each question with its own
abstract (no retrieval: the verdict alone is measured), the verdict model's scores read under the
verdict prompt with the two words offered in both orders ("yes or no", "no or yes").

    python bench/verdict_cv.py [--limit N] [--features FILE] [--folds 5] [--precision 0.8]

Step 1 (the model, ~2 s a question): the Yes/No/Maybe log-probabilities in both orders and the
finding sentence, one JSON line per question in FILE (reused when it exists, so step 2 can be
rerun without the model).
Step 2 (no model): each way of deciding whether a verdict is shown is scored by 5-fold
cross-validation: on four folds the lowest confidence threshold whose shown verdicts reach the
precision target is chosen, and applied to the fifth. Reported per fold: the threshold, the
precision of shown verdicts and the coverage (shown / all questions of the fold). The shipped
threshold (settings.verdict_min_confidence) is the median of the five folds' thresholds: no
threshold is fitted to all of dev.
"""

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from folds import folds as split  # noqa: E402

from rag import Library, Settings  # noqa: E402
from rag import verdict as verdicts  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "pubmedqa_dev.jsonl"


def shipped_evidence(llm, row: dict) -> tuple[list[dict], str]:
    """The shipped verdict's evidence for one question: both orders' scores and the finding."""
    evidence = verdicts.evidence(llm, row["question"], row["abstract"])
    return evidence.orders, evidence.finding


def collect(
    path: Path,
    limit: int | None,
    score: Callable[[Any, dict], tuple[list[dict], str]] = shipped_evidence,
    model: Callable[[Library], Any] = Library.verdict_llm,
) -> list[dict]:
    """One row per question: gold decision, both orders' scores, the finding sentence, as
    ``score`` gives them with the model ``model`` picks (default: the shipped verdict's); rows
    already in ``path`` are kept, the rest appended as they are scored."""
    rows = [json.loads(line) for line in DATA.open()][:limit]
    done = {}
    if path.exists():
        done = {r["pmid"]: r for r in map(json.loads, path.open())}
    todo = [r for r in rows if r["pmid"] not in done]
    if todo:
        llm = model(Library(Path(tempfile.mkdtemp(prefix="rag-verdict-cv-")) / "store"))
        with path.open("a") as out:
            for i, row in enumerate(todo, 1):
                orders, finding = score(llm, row)
                line = {
                    "pmid": row["pmid"],
                    "gold": row["final_decision"],
                    "orders": orders,
                    "finding": finding,
                }
                done[row["pmid"]] = line
                out.write(json.dumps(line) + "\n")
                out.flush()
                print(f"\r{i}/{len(todo)}", end="", file=sys.stderr)
        print(file=sys.stderr)
    return [done[r["pmid"]] for r in rows]


def rule_outputs(row: dict) -> dict[str, tuple[str | None, float]]:
    """(verdict word, confidence) under each rule compared."""
    forward = verdicts.Evidence(orders=row["orders"][:1], finding=row["finding"])
    both = verdicts.Evidence(orders=row["orders"], finding=row["finding"])
    word = both.word()
    each = both.probabilities() if word else []
    leads = [p[word] - max(v for w, v in p.items() if w != word) for p in each] or [-1.0]
    return {
        "one order, lead": (forward.word(), forward.lead()),
        "both orders, smallest lead in one order": (word, min(leads)),
        "both orders, lead of the mean": (word, both.lead()),
        "both orders, lead of the mean, finding wording veto (shipped)": (word, both.confidence()),
    }


def shown(rows: list[tuple[str, str | None, float]], threshold: float) -> tuple[int, int]:
    """(shown, right) among (gold, word, confidence) rows at ``threshold``."""
    kept = [(gold, word) for gold, word, conf in rows if word and conf >= threshold]
    return len(kept), sum(1 for gold, word in kept if word.lower() == gold)


def choose_threshold(rows: list[tuple[str, str | None, float]], target: float) -> float:
    """The lowest threshold whose shown verdicts reach ``target`` precision (most coverage)."""
    for threshold in sorted({conf for _, word, conf in rows if word}):
        count, right = shown(rows, threshold)
        if count and right / count >= target:
            return threshold
    return float("inf")


def cross_validate(rows: list[tuple[str, str | None, float]], folds: int, target: float) -> dict:
    parts = split(len(rows), folds)
    per_fold = []
    for k, test in enumerate(parts):
        train = [rows[i] for j, part in enumerate(parts) if j != k for i in part]
        threshold = choose_threshold(train, target)
        count, right = shown([rows[i] for i in test], threshold)
        per_fold.append(
            {
                "threshold": round(threshold, 4),
                "precision": round(right / count, 3) if count else None,
                "coverage": round(count / len(test), 3),
            }
        )
    pooled = [(f["precision"] or 0) * f["coverage"] for f in per_fold]
    coverage = statistics.mean(f["coverage"] for f in per_fold)
    return {
        "folds": per_fold,
        "precision": round(sum(pooled) / sum(f["coverage"] for f in per_fold), 3) if coverage else None,
        "coverage": round(coverage, 3),
        "median_threshold": round(statistics.median(f["threshold"] for f in per_fold), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--features", default="verdict_features.jsonl")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--precision", type=float, default=0.8)
    args = parser.parse_args()
    rows = collect(Path(args.features), args.limit)
    per_rule: dict[str, list] = {}
    for row in rows:
        for rule, (word, conf) in rule_outputs(row).items():
            per_rule.setdefault(rule, []).append((row["gold"], word, conf))
    report = {"questions": len(rows), "shipped_threshold": Settings().verdict_min_confidence}
    for rule, outputs in per_rule.items():
        count, right = shown(outputs, float("-inf"))
        report[rule] = {
            "all shown": {"precision": round(right / count, 3), "coverage": round(count / len(rows), 3)},
            "cross-validated": cross_validate(outputs, args.folds, args.precision),
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
