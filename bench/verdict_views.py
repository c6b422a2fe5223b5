"""Other views of a yes/no question's evidence, measured against the shipped one
(bench/verdict_cv.py's features file): do they decide better, or agree where the shipped one is
right? PubMedQA dev, each question with its own abstract, the bundled 1.5B verdict model.

    python bench/verdict_views.py --view finding|examples|small --base FEATURES --out FILE [--limit N]

- finding: the verdict prompt over the finding sentence alone (the sentence the answer quotes);
- examples: the verdict prompt after five worked examples written for this (none from PubMedQA:
  a difference -> yes, no difference -> no, a risk factor stated with a negation -> yes, the
  opposite effect -> no, mixed results -> maybe);
- small: the shipped prompt over the same results part, scored by the default answer model (the
  0.5B) instead of the verdict model: do the two models' verdicts agree where the 1.5B is right?

Step 1 writes one JSON line per question to FILE (resumed when it exists). Step 2 (no model)
reports each view's accuracy and AUC, and 5-fold cross-validated precision and coverage (as
bench/verdict_cv.py, threshold for 80%) of: the shipped rule, the shipped rule where both views
give the same word, and the view's own orders averaged with the shipped ones.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import verdict_cv  # noqa: E402
from verdict_prompts import auc  # noqa: E402

from rag import Library, prompts  # noqa: E402
from rag import verdict as verdicts  # noqa: E402

EXAMPLES = [
    (
        "Patients mobilised on the first day were discharged after a median of 6 days, against 9 days "
        "with usual care (p<0.001). Complication rates did not differ between the groups.",
        "Does early mobilisation shorten hospital stay after hip surgery?",
        ("yes", "no"),
        "yes",
    ),
    (
        "Fatigue scores were similar across ferritin quartiles (p=0.62). After adjustment for age and "
        "sex, ferritin did not predict fatigue.",
        "Is serum ferritin associated with fatigue in blood donors?",
        ("no", "yes"),
        "no",
    ),
    (
        "Smokers had twice the risk of early graft failure (odds ratio 2.1, 95% CI 1.4-3.2), which "
        "was not explained by age or diabetes.",
        "Is smoking a risk factor for early graft failure?",
        ("yes", "no"),
        "yes",
    ),
    (
        "Readmissions were more frequent after the new discharge protocol (18% vs 12%, p=0.03).",
        "Does the new discharge protocol reduce readmissions?",
        ("no", "yes"),
        "no",
    ),
    (
        "Pain scores fell in the first cohort but not in the second, and the pooled difference was "
        "small (0.4 points, p=0.09); the trial was underpowered.",
        "Does acupuncture relieve chronic neck pain?",
        ("yes", "no"),
        "maybe",
    ),
]


def with_examples(results: str, question: str, order: tuple[str, str]) -> list[dict]:
    messages = prompts.verdict_messages(results, question, order)
    shown = []
    for text, asked, example_order, word in EXAMPLES:
        shown += [
            prompts.verdict_messages(text, asked, example_order)[1],
            {"role": "assistant", "content": f"{prompts.VERDICT_OPENING} {word}."},
        ]
    return messages[:1] + shown + messages[1:]


def view_messages(view: str, row: dict, order: tuple[str, str]) -> list[dict]:
    if view == "finding":
        return prompts.verdict_messages(
            verdicts.finding(row["question"], row["abstract"]), row["question"], order
        )
    results = " ".join(verdicts.results_part(row["abstract"]))
    if view == "small":
        return prompts.verdict_messages(results, row["question"], order)
    return with_examples(results, row["question"], order)


def collect(view: str, path: Path, limit: int | None) -> list[dict]:
    """bench/verdict_cv.py's rows, scored under ``view`` (the 0.5B's for "small")."""

    def score(llm, row: dict) -> tuple[list[dict], str]:
        orders = [
            verdicts.scored(llm, view_messages(view, row, o), prompts.VERDICT_OPENING)[1]
            for o in verdicts.ORDERS
        ]
        return orders, verdicts.finding(row["question"], row["abstract"])

    return verdict_cv.collect(path, limit, score, Library.llm if view == "small" else Library.verdict_llm)


def accuracy_and_auc(rows: list[dict]) -> dict:
    right = sum((verdicts.Evidence(orders=r["orders"]).word() or "").lower() == r["gold"] for r in rows)
    no_odds = {r["pmid"]: statistics.mean(o["No"] - o["Yes"] for o in r["orders"]) for r in rows}
    no_vs_yes = auc(
        [no_odds[r["pmid"]] for r in rows if r["gold"] == "no"],
        [no_odds[r["pmid"]] for r in rows if r["gold"] == "yes"],
    )
    return {"accuracy": round(right / len(rows), 3), "auc_no_vs_yes": round(no_vs_yes, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--view", choices=("finding", "examples", "small"), required=True)
    parser.add_argument("--base", type=Path, required=True, help="bench/verdict_cv.py's features file")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    view = collect(args.view, args.out, args.limit)
    base = {r["pmid"]: r for r in map(json.loads, args.base.open())}
    shipped = [base[r["pmid"]] for r in view]
    rules: dict[str, list] = {
        "shipped": [],
        "shipped where both views agree": [],
        "orders of both averaged": [],
    }
    for own, other in zip(shipped, view, strict=True):
        evidence = verdicts.Evidence(orders=own["orders"], finding=own["finding"])
        word, seen = evidence.word(), verdicts.Evidence(orders=other["orders"]).word()
        both = verdicts.Evidence(orders=own["orders"] + other["orders"], finding=own["finding"])
        rules["shipped"].append((own["gold"], word, evidence.confidence()))
        rules["shipped where both views agree"].append(
            (own["gold"], word, evidence.confidence() if seen == word else -1.0)
        )
        rules["orders of both averaged"].append((own["gold"], both.word(), both.confidence()))
    report = {
        "questions": len(view),
        "shipped view": accuracy_and_auc(shipped),
        f"{args.view} view": accuracy_and_auc(view),
    }
    for name, outputs in rules.items():
        cv = verdict_cv.cross_validate(outputs, 5, 0.8)
        report[name] = {"precision": cv["precision"], "coverage": cv["coverage"]}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
