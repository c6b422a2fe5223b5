"""The k-fold split every cross-validating bench uses, so their folds are the same kind of split."""

import random


def folds(count: int, k: int, seed: int = 0) -> list[list[int]]:
    """Indices 0..count-1 shuffled with ``seed``, dealt into ``k`` folds (every k-th one)."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]
