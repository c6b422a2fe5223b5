"""Other selections over the candidates an `rag eval tldr --details` run recorded (issue 14), offline.

    python bench/tldr_selections.py lines.jsonl ../shared/eval/scitldr_a_dev.jsonl [--first 4,6]

Each paper's recorded candidates are re-selected with the shipped functions (``clean_summary``,
``is_grounded``, ``title_share``, ``consensus``, ``evidence``, ``without_self_reference``) in
several ways: the greedy line alone, the consensus of the first three or all five, with and without
the title and abstract voting, the title rule and the verb-first rewrite, and the best candidate by
ROUGE against the references (an oracle, not a method). ``--first 4,6`` adds the shipped choice
and the oracle over each paper's first k candidates only (a run with more candidates than shipped,
against its own first ones). ROUGE-1/2/L as ``rag eval tldr`` scores them, plus the share of lines opening with
"This paper"/"We" and restating the title. Needs the eval extra (rouge-score).
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from rouge_score import rouge_scorer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluation import load_scitldr  # noqa: E402
from rag.summaries import (clean_summary, consensus, evidence, extractive_summary, is_grounded,  # noqa: E402
                           opens_with_self_reference, title_share, without_self_reference)

SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def best(refs: list[str], text: str) -> dict:
    return {k: max(SCORER.score(r, text)[k].fmeasure for r in refs) for k in ("rouge1", "rouge2", "rougeL")}


def select(paper, raws: list[str], title_rule: bool = True, verb_first: bool = True, votes: bool = True) -> str:
    lines = [clean_summary(raw) for raw in raws]
    grounded = [is_grounded(line, paper) for line in lines]
    adds = [ok and title_share(line, paper.title) < 0.8 for line, ok in zip(lines, grounded)]
    chosen = consensus(lines, adds if title_rule and any(adds) else grounded, evidence(paper) if votes else ())
    text = lines[chosen] if chosen >= 0 else extractive_summary(paper)
    return without_self_reference(text) if verb_first else text


def recorded(details: str, data: str) -> tuple[dict, list[dict]]:
    """The dev papers by id, each (paper, its references), and the rows a ``--details`` run recorded."""
    papers = {paper.id: (paper, refs) for paper, refs in load_scitldr(data, None)}
    return papers, [json.loads(line) for line in Path(details).read_text().splitlines()]


def oracle(raws: list[str], refs: list[str]) -> str:
    """The candidate scoring best against the references: what a perfect choice would reach."""
    return max((clean_summary(raw) for raw in raws), key=lambda line: best(refs, line)["rouge1"])


SELECTIONS = {
    "greedy line alone, as generated": lambda p, c, refs: select(p, c[:1], False, False),
    "greedy line alone, verb first": lambda p, c, refs: select(p, c[:1], False, True),
    "consensus of 3, title rule, verb first": lambda p, c, refs: select(p, c[:3]),
    "consensus of 5 without title/abstract votes, as generated": lambda p, c, refs: select(p, c, False, False, False),
    "consensus of 5 without title/abstract votes, title rule, verb first": lambda p, c, refs: select(p, c, votes=False),
    "consensus of 5, as generated": lambda p, c, refs: select(p, c, False, False),
    "consensus of 5, title rule": lambda p, c, refs: select(p, c, True, False),
    "consensus of 5, title rule, verb first (shipped)": lambda p, c, refs: select(p, c),
    "oracle: best of 5 by ROUGE-1": lambda p, c, refs: oracle(c, refs),
}


def first(k: int) -> dict:
    """The shipped choice and the oracle among the first ``k`` candidates."""
    return {f"consensus of the first {k}, title rule, verb first": lambda p, c, refs: select(p, c[:k]),
            f"oracle: best of the first {k} by ROUGE-1": lambda p, c, refs: oracle(c[:k], refs)}


def main(details: str, data: str, firsts: tuple[int, ...] = ()) -> dict:
    papers, rows = recorded(details, data)
    report = {"papers": len(rows), "shipped_reproduces": sum(
        select(papers[r["id"]][0], r["candidates"]) == r["summary"] for r in rows)}
    selections = dict(SELECTIONS)
    for k in firsts:
        selections.update(first(k))
    for name, selection in selections.items():
        texts = [(selection(*papers[r["id"]][:1], r["candidates"], papers[r["id"]][1]), r["id"]) for r in rows]
        scores = [best(papers[i][1], text) for text, i in texts]
        report[name] = {**{k: round(100 * statistics.mean(s[k] for s in scores), 2) for k in scores[0]},
                        "opens_with_this_paper_or_we_pct": round(100 * statistics.mean(
                            opens_with_self_reference(t) for t, _ in texts), 1),
                        "restates_title_pct": round(100 * statistics.mean(
                            title_share(t, papers[i][0].title) >= 0.8 for t, i in texts), 1),
                        "words": round(statistics.mean(len(t.split()) for t, _ in texts), 1)}
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("details")
    parser.add_argument("data")
    parser.add_argument("--first", default="", help="k,k: the choice and the oracle among the first k candidates")
    args = parser.parse_args()
    firsts = tuple(int(k) for k in args.first.split(",") if k)
    print(json.dumps(main(args.details, args.data, firsts), indent=1))
