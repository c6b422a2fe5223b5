"""Ranking new papers for a reader, from the papers that are theirs (starred or their own library).

A paper is close to a reader in meaning (MiniLM vectors) and in words (TF-IDF over the papers at
hand: a reader's own method and dataset names recur in what they read next), to their nearest
paper and to their profile as a whole. Each of the four similarities is standardised over the
candidates and the four are summed with equal weights: no weight is fitted. The two baselines of
``rag eval for-you`` are here too: the nearest profile paper's cosine, and zotero-arxiv-daily's
mean cosine weighted 1/(1+log10(rank+1)) over the profile newest first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def profile_weights(n: int) -> np.ndarray:
    """zotero-arxiv-daily's weight of the reader's papers, newest first: 1/(1+log10(rank+1))."""
    return 1.0 / (1.0 + np.log10(np.arange(n) + 1.0))


def mean_similarity(candidates: np.ndarray, profile: np.ndarray) -> np.ndarray:
    weights = profile_weights(len(profile))
    return (candidates @ profile.T * weights).sum(axis=1) / weights.sum()


def max_similarity(candidates: np.ndarray, profile: np.ndarray) -> np.ndarray:
    return (candidates @ profile.T).max(axis=1)


def _standard(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def prepare() -> None:
    """Import the word model (scikit-learn: 2.3 s, more than ranking a day of papers takes), so
    a warm-up can pay for it before the first ranking is asked for."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: F401


def _word_vectors(candidate_texts: Sequence[str], profile_texts: Sequence[str]):
    """TF-IDF rows (unit length) of the candidates and the profile, fitted on both."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = list(candidate_texts) + list(profile_texts)
    # Words in most of the papers say nothing about a reader; word pairs keep "graph neural".
    vectorizer = TfidfVectorizer(sublinear_tf=True, max_df=0.5, stop_words="english", ngram_range=(1, 2))
    try:
        rows = vectorizer.fit_transform(texts)
    except ValueError:  # no word left (empty or stop-word-only texts): words cannot tell them apart
        return None
    return rows[: len(candidate_texts)], rows[len(candidate_texts) :]


def rank(
    candidate_texts: Sequence[str],
    candidate_vectors: np.ndarray,
    profile_texts: Sequence[str],
    profile_vectors: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's score (higher: closer to the reader) and the index of the profile paper it
    is closest to (the reason shown beside it). Profile rows are newest first."""
    meaning = candidate_vectors @ profile_vectors.T
    weights = profile_weights(len(profile_vectors))
    parts = [meaning.max(axis=1), (meaning * weights).sum(axis=1) / weights.sum()]
    closeness = meaning
    words = _word_vectors(candidate_texts, profile_texts)
    if words is not None:
        lexical = (words[0] @ words[1].T).toarray()
        parts += [lexical.max(axis=1), (lexical * weights).sum(axis=1) / weights.sum()]
        closeness = meaning + lexical
    if len(candidate_vectors) < 2:
        return np.zeros(len(candidate_vectors)), closeness.argmax(axis=1)
    return np.sum([_standard(p) for p in parts], axis=0), closeness.argmax(axis=1)
