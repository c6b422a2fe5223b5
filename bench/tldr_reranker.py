"""A learned choice among the recorded candidates, cross-validated (issue 14), offline.

    python bench/tldr_reranker.py lines4.jsonl ../shared/eval/scitldr_a_dev.jsonl [--folds 5]

The shipped choice (``summaries.consensus``) adds up hand-picked signals with equal weights. This
bench asks whether any weighting of such signals finds better lines: a ridge regression from each
line's features to its ROUGE-1 against the references (centred per paper), fitted on k-1 folds of
the papers and used to choose on the held-out fold, so every paper's line is chosen by weights that
never saw it. Features of a line: its mean unigram F1 with the other candidates, with the title,
with the closest abstract sentence and with the whole abstract; its length (and squared), whether
it opens with "This paper"/"We", its title share, whether it is the greedy line. With ``extracts``
the abstract's own sentences (8 to 30 words, not opening with a back-reference, not restating the
title) join the pool, with two more features (is an extract, its place in the abstract); the same
pool is also chosen by word agreement with the candidates and the title, unweighted. Eligible lines
and the verb-first rewrite are the shipped ones. Needs the eval extra (rouge-score).
"""

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tldr_selections import best, recorded, select  # noqa: E402

from rag.injection import without_instructions
from rag.text import sentences  # noqa: E402
from rag.summaries import (clean_summary, is_grounded, opens_with_self_reference, overlap,  # noqa: E402
                           title_share, without_self_reference)

# A sentence opening like these leans on the one before it: not a line a digest can show alone.
_BACK_REFERENCE = re.compile(r"^(this|these|those|it|its|they|their|such|here|however|moreover|furthermore|"
                             r"finally|thus|additionally|in addition|specifically|to this end|as a result)\b", re.I)


def pool(paper, raws: list[str], extracts: bool) -> list[dict]:
    """The lines the choice is among, each with its features."""
    lines = [clean_summary(raw) for raw in raws]
    abstract = without_instructions(paper.abstract)[0]
    parts = sentences(abstract) or [abstract]
    items = [{"text": line, "extract": 0, "place": i / len(lines)} for i, line in enumerate(lines)
             if is_grounded(line, paper) and title_share(line, paper.title) < 0.8]
    if extracts:
        items += [{"text": clean_summary(s), "extract": 1, "place": i / len(parts)} for i, s in enumerate(parts)
                  if 8 <= len(s.split()) <= 30 and title_share(s, paper.title) < 0.8
                  and (opens_with_self_reference(s) or not _BACK_REFERENCE.match(s))]
    for item in items:
        text, length = item["text"], len(without_self_reference(item["text"]).split()) / 20
        item["agreement"] = sum(overlap(text, line) for line in lines if line != text)
        item["features"] = [1.0, item["agreement"], overlap(text, paper.title),
                            0.0 if item["extract"] else max(overlap(text, s) for s in parts),
                            overlap(text, abstract), length, length ** 2, float(opens_with_self_reference(text)),
                            title_share(text, paper.title), float(not item["extract"] and item["place"] == 0)]
        if extracts:
            item["features"] += [float(item["extract"]), item["extract"] * item["place"]]
    return items


def fit(papers: list[list[dict]]) -> np.ndarray:
    """Ridge weights from the lines' features to their ROUGE-1, centred per paper."""
    rows, targets = [], []
    for items in papers:
        mean = statistics.mean(item["rouge1"] for item in items)
        rows += [item["features"] for item in items]
        targets += [item["rouge1"] - mean for item in items]
    x, y = np.array(rows), np.array(targets)
    return np.linalg.solve(x.T @ x + 1e-2 * np.eye(x.shape[1]), x.T @ y)


def cross_validated(pools: list[list[dict]], refs: list[list[str]], folds: int) -> list[str | None]:
    """Each paper's chosen line by weights fitted on the other folds (None: nothing eligible)."""
    for items, references in zip(pools, refs):
        for item in items:
            item["rouge1"] = best(references, without_self_reference(item["text"]))["rouge1"]
    order = np.random.default_rng(0).permutation(len(pools))
    chosen: list[str | None] = [None] * len(pools)
    for held in np.array_split(order, folds):
        rest = sorted(set(range(len(pools))) - set(held.tolist()))
        weights = fit([pools[i] for i in rest if pools[i]])
        for i in held:
            if pools[i]:
                chosen[i] = max(pools[i], key=lambda item: float(np.dot(weights, item["features"])))["text"]
    return chosen


def main(details: str, data: str, folds: int) -> dict:
    papers, rows = recorded(details, data)
    refs = [papers[r["id"]][1] for r in rows]
    shipped = [select(papers[r["id"]][0], r["candidates"]) for r in rows]
    report = {"papers": len(rows), "folds": folds}

    def score(name: str, texts: list[str | None]):
        scored = [best(ref, without_self_reference(text) if text else fallback)
                  for ref, text, fallback in zip(refs, texts, shipped)]
        report[name] = {k: round(100 * statistics.mean(s[k] for s in scored), 2) for k in scored[0]}

    score("shipped choice", shipped)
    for extracts in (False, True):
        pools = [pool(papers[r["id"]][0], r["candidates"], extracts) for r in rows]
        label = "candidates and abstract sentences" if extracts else "candidates"
        score(f"learned choice among the {label} (cross-validated)", cross_validated(pools, refs, folds))
        if extracts:
            agreed = [max(items, key=lambda item: item["agreement"] + item["features"][2])["text"] if items else None
                      for items in pools]
            score("word agreement with the candidates and the title, among both", agreed)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("details")
    parser.add_argument("data")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(main(args.details, args.data, args.folds), indent=1))
