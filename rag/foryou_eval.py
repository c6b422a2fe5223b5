"""``rag eval for-you``: does the ranking put a reader's own next papers near the top of their day?

Protocol (issue 32): papers ordered by their day; the test days are the last 10 days of the file;
a reader is an author with at least 3 papers before the test days and one on a test day; up to
300 readers are sampled with a fixed seed. For each reader and test day with their papers, the
profile is their papers before that day (newest first), the candidates every paper of that day,
the targets their papers that day. Ranking reads titles and abstracts only, never authors or ids.
Only the papers the cases use are embedded, as an ingest embeds them (chunks, averaged).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import foryou
from .paper import Paper

READERS = 300
SEED = 0
TEST_DAYS = 10


@dataclass(frozen=True)
class Case:
    reader: str
    day: str
    profile: tuple[int, ...]  # paper indices, newest first
    targets: tuple[int, ...]


def cases_of(papers: list[Paper]) -> tuple[list[Case], int]:
    """The evaluation's cases and how many readers they come from."""
    days = sorted({p.published for p in papers})
    test_days = days[-TEST_DAYS:]
    by_author: dict[str, list[int]] = defaultdict(list)
    for index, paper in enumerate(papers):
        for author in paper.authors:
            by_author[author].append(index)
    eligible = sorted(
        author
        for author, mine in by_author.items()
        if sum(papers[i].published < test_days[0] for i in mine) >= 3
        and any(papers[i].published in test_days for i in mine)
    )
    random.Random(SEED).shuffle(eligible)
    readers = sorted(eligible[:READERS])
    cases = []
    for reader in readers:
        mine = by_author[reader]
        for day in test_days:
            targets = tuple(i for i in mine if papers[i].published == day)
            if targets:
                before = sorted(
                    (i for i in mine if papers[i].published < day), key=lambda i: papers[i].published
                )
                cases.append(Case(reader, day, tuple(reversed(before)), targets))
    return cases, len(readers)


def _metrics(scores: np.ndarray, candidates: list[int], targets: tuple[int, ...]) -> tuple[float, float]:
    order = [candidates[j] for j in np.argsort(-scores, kind="stable")]
    ranks = [order.index(t) + 1 for t in targets]
    return sum(r <= 10 for r in ranks) / len(ranks), 1.0 / min(ranks)


def evaluate_for_you(data: str | Path, embed: Callable[[list[Paper]], np.ndarray], progress=None) -> dict:
    """recall@10 and MRR of ``ours`` and the baselines; ``embed`` gives each paper's vector."""
    from .loaders import load_path

    papers = sorted(load_path(data, skip_bad=True).papers, key=lambda p: p.published)
    cases, readers = cases_of(papers)
    by_day: dict[str, list[int]] = defaultdict(list)
    for index, paper in enumerate(papers):
        by_day[paper.published].append(index)
    needed = sorted({i for c in cases for i in c.profile} | {i for c in cases for i in by_day[c.day]})
    vectors = dict(zip(needed, embed([papers[i] for i in needed])))
    text = lambda i: f"{papers[i].title}\n\n{papers[i].abstract}"  # noqa: E731
    rng = np.random.default_rng(SEED)
    methods: dict[str, Callable] = {
        "ours": lambda c, cand: foryou.rank(
            [text(i) for i in cand],
            _rows(vectors, cand),
            [text(i) for i in c.profile],
            _rows(vectors, c.profile),
        )[0],
        "mean_similarity": lambda c, cand: foryou.mean_similarity(
            _rows(vectors, cand), _rows(vectors, c.profile)
        ),
        "max_similarity": lambda c, cand: foryou.max_similarity(
            _rows(vectors, cand), _rows(vectors, c.profile)
        ),
        "random": lambda c, cand: rng.random(len(cand)),
    }
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
    for done, case in enumerate(cases, 1):
        candidates = by_day[case.day]
        for name, method in methods.items():
            found[name].append(_metrics(method(case, candidates), candidates, case.targets))
        if progress:
            progress(done, len(cases))
    return {
        "readers": readers,
        "cases": len(cases),
        "methods": {
            name: {
                "recall@10": round(float(np.mean([r for r, _ in rows])), 4),
                "mrr": round(float(np.mean([m for _, m in rows])), 4),
            }
            for name, rows in found.items()
        },
    }


def _rows(vectors: dict[int, np.ndarray], indices) -> np.ndarray:
    return np.stack([vectors[i] for i in indices])
