"""Choosing among recorded TL;DR candidates by the model's own likelihood (issue 14), offline.

    python bench/tldr_likelihood.py lines.jsonl ../shared/eval/scitldr_a_dev.jsonl [--limit 100]

``lines.jsonl`` is an ``rag eval tldr --details`` file (each paper's five candidates). The default
model scores every candidate twice by teacher forcing: log p(line | the summary prompt with the
abstract) and log p(line | the same prompt with the title only). Their difference (pointwise
mutual information) is how much the abstract, beyond the title, makes the model expect the line.
Each rule picks among the same eligible candidates as the shipped selection (grounded, not a title
restatement) and writes the line verb first; ROUGE-1 as ``rag eval tldr`` scores it.
"""

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from llama_cpp import Llama, llama_chat_format  # noqa: E402
from tldr_selections import best, recorded  # noqa: E402

from rag import Library  # noqa: E402
from rag.llm.states import evaluate_after_held  # noqa: E402
from rag.paper import Paper  # noqa: E402
from rag.summaries import (clean_summary, evidence, extractive_summary, is_grounded, overlap,  # noqa: E402
                           summary_messages, title_share, without_self_reference)


class Scorer:
    def __init__(self, path: Path):
        self.llama = Llama(model_path=str(path), n_ctx=2048, n_threads=2, n_batch=512, logits_all=True,
                           verbose=False, seed=0)

    def prompt(self, paper: Paper) -> list[int]:
        result = llama_chat_format.format_chatml(messages=summary_messages(paper))
        return self.llama.tokenize(result.prompt.encode(), add_bos=not result.added_special, special=True)

    def log_probability(self, prompt: list[int], line: str) -> float:
        """Sum of the line's token log-probabilities after ``prompt`` (its evaluation reused)."""
        llama = self.llama
        tokens = prompt + llama.tokenize(line.encode(), add_bos=False, special=False)
        evaluate_after_held(llama, tokens, len(prompt))
        rows = llama.scores[len(prompt) - 1:len(tokens) - 1]
        peak = rows.max(axis=1, keepdims=True)
        log_totals = peak[:, 0] + np.log(np.exp(rows - peak).sum(axis=1))
        chosen = np.array(tokens[len(prompt):])
        return float((rows[np.arange(len(chosen)), chosen] - log_totals).sum())


def ranks(values: list[float]) -> list[int]:
    """0 for the highest value."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    return [order.index(i) for i in range(len(values))]


def rules(lines: list[str], paper, with_abstract: list[float], title_only: list[float]) -> dict[str, list[float]]:
    """Each rule's score per candidate (higher is chosen)."""
    voters = evidence(paper)
    shipped = [sum(overlap(line, other) for j, other in enumerate(lines) if j != i)
               + sum(max((overlap(line, text) for text in group), default=0.0) for group in voters)
               for i, line in enumerate(lines)]
    pmi = [a - t for a, t in zip(with_abstract, title_only)]
    return {"shipped (unigram F1 with the other candidates, title, closest sentence)": shipped,
            "log p(line | abstract)": with_abstract,
            "PMI: log p(line | abstract) - log p(line | title)": pmi,
            "rank sum of shipped and PMI": [-(a + b) for a, b in zip(ranks(shipped), ranks(pmi))],
            "shipped among the 3 of highest PMI": [s if r < 3 else -1e9 for s, r in zip(shipped, ranks(pmi))],
            "shipped among the 3 most likely": [s if r < 3 else -1e9 for s, r in zip(shipped, ranks(with_abstract))]}


def main(details: str, data: str, limit: int) -> dict:
    papers, rows = recorded(details, data)
    rows = rows[:limit]
    with tempfile.TemporaryDirectory() as folder:
        scorer = Scorer(Library(Path(folder) / "store").llm().path)
    scores: dict[str, list[float]] = {}
    for row in rows:
        paper, refs = papers[row["id"]]
        lines = [clean_summary(raw) for raw in row["candidates"]]
        grounded = [is_grounded(line, paper) for line in lines]
        adds = [ok and title_share(line, paper.title) < 0.8 for line, ok in zip(lines, grounded)]
        eligible = [i for i, ok in enumerate(adds if any(adds) else grounded) if ok]
        with_abstract, title_only = ([scorer.log_probability(scorer.prompt(shown), line) for line in lines]
                                     for shown in (paper, dataclasses.replace(paper, abstract="(not given)")))
        for name, values in rules(lines, paper, with_abstract, title_only).items():
            chosen = max(eligible, key=lambda i: (values[i], -i)) if eligible else -1
            text = without_self_reference(lines[chosen] if chosen >= 0 else extractive_summary(paper))
            scores.setdefault(name, []).append(best(refs, text)["rouge1"])
    shipped = next(iter(scores.values()))
    return {"papers": len(rows), **{name: {"rouge1": round(100 * statistics.mean(values), 2),
                                           "papers_higher_than_shipped": sum(a > b for a, b in zip(values, shipped)),
                                           "papers_lower_than_shipped": sum(a < b for a, b in zip(values, shipped))}
                                    for name, values in scores.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("details")
    parser.add_argument("data")
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(main(args.details, args.data, args.limit), indent=1))
