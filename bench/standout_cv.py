"""Where a yes/no question's closest paper must stand out from a big library's crowd: PubMedQA dev's
abstention split (every other abstract stored, as `rag eval abstention` does) beside the 40,717
arXiv distractors, with 5-fold cross-validation of the two thresholds.

    python bench/standout_cv.py --distractor-store DIR40k --store DIR [--folds 5]

Step 1 (no language model: a yes/no question is refused or passed before its verdict is asked,
so a scripted model stands in): DIR is made once as a copy of the distractor store plus the
PubMedQA abstracts, then every question is asked through ``Library.ask`` with the standout rule
off, and its closest paper's standout (``rag.retrieval.standout``) and term coverage recorded.
Step 2: on four folds the pair (min_standout, standout_coverage) is chosen that refuses the most
absent questions while losing no present question the pipeline answers without the rule, and
applied to the fifth. Reported per fold, and the rule as shipped (settings) over all questions.
"""

import argparse
import dataclasses
import json
import shutil
import sys
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes import FakeLLM  # noqa: E402
from folds import folds as split  # noqa: E402

from rag import Library, Settings  # noqa: E402
from rag.checks import coverage  # noqa: E402
from rag.evaluation import EVAL_SOURCE, load_pubmedqa  # noqa: E402
from rag.qa import closest  # noqa: E402
from rag.retrieval import CROWD, standout  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "pubmedqa_dev.jsonl"
STANDOUTS = [round(0.02 * i, 2) for i in range(11)]
COVERAGES = [0.6, 0.7, 0.75, 0.8, 1.01]  # 1.01: any coverage


def measure(store: Path, distractors: Path) -> list[dict]:
    papers, items = load_pubmedqa(DATA)
    if not store.exists():
        shutil.copytree(distractors, store)
        library = Library(store)
        library.add([dataclasses.replace(p, source=EVAL_SOURCE) for p in papers[::2]])
        library.close()
    stored = {p.id for p in papers[::2]}
    library = Library(store, settings=Settings.from_env(verdict_model="", min_standout=float("-inf")))
    fake = FakeLLM()
    library.llm = lambda model=None, fmt=None: fake
    rows = []
    for item in items:
        answer = library.ask(item.question)
        plan = library.plan(item.question)
        sources = library.sources(plan)
        closeness = library.sentence_similarities(plan.query, sources.passages) if sources.passages else []
        lead = closest(closeness)
        rows.append(
            {
                "present": item.paper_id in stored,
                "answered": not answer.abstained,
                "named": plan.named,
                "standout": standout(library.search(plan.query, k=CROWD)),
                "coverage": coverage(plan.query, sources.passages[lead]) if closeness else 0.0,
            }
        )
    library.close()
    return rows


def answered(row: dict, min_standout: float, min_coverage: float) -> bool:
    crowded = (
        not row["named"]
        and row["standout"] is not None
        and row["standout"] < min_standout
        and row["coverage"] < min_coverage
    )
    return row["answered"] and not crowded


def rates(rows: list[dict], pair: tuple[float, float]) -> tuple[float, float]:
    """(present answered, absent refused) under ``pair``."""
    present = [r for r in rows if r["present"]]
    absent = [r for r in rows if not r["present"]]
    return (
        sum(answered(r, *pair) for r in present) / len(present),
        sum(not answered(r, *pair) for r in absent) / len(absent),
    )


def cross_validate(rows: list[dict], folds: int) -> list[dict]:
    parts = split(len(rows), folds)
    report = []
    for k, test in enumerate(parts):
        train = [rows[i] for j, part in enumerate(parts) if j != k for i in part]
        without = rates(train, (float("-inf"), 0.0))[0]
        keeping = [p for p in product(STANDOUTS, COVERAGES) if rates(train, p)[0] >= without]
        chosen = max(keeping, key=lambda p: (rates(train, p)[1], -p[0], -p[1]))
        present, absent = rates([rows[i] for i in test], chosen)
        report.append(
            {"chosen": chosen, "present_answered": round(present, 3), "absent_refused": round(absent, 3)}
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractor-store", required=True, type=Path)
    parser.add_argument("--store", required=True, type=Path, help="made once, then reused")
    parser.add_argument("--features", type=Path, help="step 1's rows, written once and then reused")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if args.features and args.features.exists():
        rows = [json.loads(line) for line in args.features.open()]
    else:
        rows = measure(args.store, args.distractor_store)
        if args.features:
            args.features.write_text("".join(json.dumps(r) + "\n" for r in rows))
    folds = cross_validate(rows, args.folds)
    shipped = Settings()
    present, absent = rates(rows, (shipped.min_standout, shipped.standout_coverage))
    without_present, without_absent = rates(rows, (float("-inf"), 0.0))
    print(
        json.dumps(
            {
                "questions": len(rows),
                "folds": folds,
                "cv_present_answered": round(sum(f["present_answered"] for f in folds) / len(folds), 3),
                "cv_absent_refused": round(sum(f["absent_refused"] for f in folds) / len(folds), 3),
                "shipped": [shipped.min_standout, shipped.standout_coverage],
                "shipped_all": {"present_answered": round(present, 3), "absent_refused": round(absent, 3)},
                "without_rule": {"present_answered": without_present, "absent_refused": without_absent},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
