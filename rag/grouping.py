"""A long digest's papers under a few topic headings: their embeddings clustered, each cluster
named by the words its papers share and the others do not."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .text import STOPWORDS, stem, words

# Words every paper uses (stemmed, as they are compared): they would name every group alike.
GENERIC = frozenset(
    stem(word)
    for word in """paper method methods model models approach results propose proposed show new based
using use task tasks performance data network networks learning deep neural via toward towards""".split()
)


@dataclass(frozen=True)
class Topic:
    name: str
    paper_ids: list[str]


def group_count(papers: int) -> int:
    """About one heading per seven papers, between 2 and 6: more would be a list of one-paper topics."""
    return max(2, min(6, round(papers / 7)))


def cluster(vectors: np.ndarray, groups: int, restarts: int = 10, rounds: int = 50) -> list[int]:
    """Spherical k-means on unit vectors: each paper's group number. The best of ``restarts``
    k-means++ starts from a fixed seed, so the same papers always get the same groups."""
    rng = np.random.default_rng(0)
    best, best_fit = None, -np.inf
    for _ in range(restarts):
        means = vectors[_spread_start(vectors, groups, rng)]
        for _ in range(rounds):
            labels = np.argmax(vectors @ means.T, axis=1)
            updated = np.stack(
                [vectors[labels == g].sum(axis=0) if np.any(labels == g) else means[g] for g in range(groups)]
            )
            updated /= np.clip(np.linalg.norm(updated, axis=1, keepdims=True), 1e-12, None)
            if np.allclose(updated, means):
                break
            means = updated
        fit = float(np.sum(vectors * means[labels]))
        if fit > best_fit:
            best, best_fit = labels, fit
    assert best is not None  # at least one restart ran
    return [int(label) for label in best]


def _spread_start(vectors: np.ndarray, groups: int, rng) -> list[int]:
    """k-means++: each next centre drawn with probability growing with its distance from those chosen."""
    chosen = [int(rng.integers(len(vectors)))]
    while len(chosen) < groups:
        distance = np.clip(1 - np.max(vectors @ vectors[chosen].T, axis=1), 0, None) ** 2
        if distance.sum() <= 0:  # fewer distinct papers than groups
            break
        chosen.append(int(rng.choice(len(vectors), p=distance / distance.sum())))
    return chosen


def topic_name(texts: list[str], others: list[str], size: int = 3) -> str:
    """The group's most distinctive words: used by many of its papers, few of the rest."""
    inside: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    spelling: dict[str, Counter[str]] = {}
    for group, counter in ((texts, inside), (others, outside)):
        for text in group:
            seen = set()
            for word in words(text):
                key = stem(word)
                if word.lower() in STOPWORDS or key in GENERIC or len(word) < 3 or word.isdigit():
                    continue
                spelling.setdefault(key, Counter())[word if word.isupper() else word.lower()] += 1
                seen.add(key)
            counter.update(seen)
    score = {
        key: (n / len(texts)) * math.log((1 + len(others)) / (1 + outside[key]))
        for key, n in inside.items()
        if n > 1 or len(texts) == 1
    }
    best = sorted(score, key=lambda key: (-score[key], key))[:size]
    return ", ".join(spelling[key].most_common(1)[0][0] for key in best)


def topics(paper_ids: list[str], titles: list[str], lines: list[str], vectors: np.ndarray) -> list[Topic]:
    """The papers grouped and named, largest group first; each group's papers keep their order.
    A group is named from its titles (what authors chose to stress), else from its summaries."""
    labels = cluster(vectors, group_count(len(paper_ids)))
    found = []
    for group in sorted(set(labels), key=lambda g: (-labels.count(g), labels.index(g))):
        inside = [i for i, label in enumerate(labels) if label == group]
        outside = [i for i, label in enumerate(labels) if label != group]
        name = (
            topic_name([titles[i] for i in inside], [titles[i] for i in outside])
            or topic_name([lines[i] for i in inside], [lines[i] for i in outside])
            or "Other papers"
        )
        found.append(Topic(name, [paper_ids[i] for i in inside]))
    return found
