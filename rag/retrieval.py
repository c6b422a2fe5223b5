"""Reciprocal rank fusion of dense and keyword results, grouped per paper."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .filters import Filters

if TYPE_CHECKING:
    from .catalog import Catalog, KeywordHit

SearchMode = Literal["hybrid", "dense", "keyword"]


class RankedChunk(Protocol):
    @property
    def chunk_id(self) -> str: ...

    @property
    def paper_id(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Hit:
    """One paper found by a search, shown through its best-matching chunk."""

    paper_id: str
    title: str
    text: str
    score: float  # fused RRF score: higher is better, comparable only within one search
    url: str = ""
    chunk_id: str = ""
    dense_similarity: float | None = None  # cosine similarity of the best dense chunk, if any
    dense_rank: int | None = None  # 1-based paper rank among dense results
    keyword_rank: int | None = None  # 1-based paper rank among BM25 results


@dataclass
class _Fused:
    paper_id: str
    score: float = 0.0
    best_rank: int = 10**9
    chunk: RankedChunk | None = None
    dense_similarity: float | None = None
    dense_rank: int | None = None
    keyword_rank: int | None = None

    @property
    def best_chunk(self) -> RankedChunk:
        assert self.chunk is not None  # set with the entry's first rank
        return self.chunk


# Papers a question's closest one is measured against (``standout``): the library's crowd near it.
CROWD = 10
_CROWD_RANK = 5


def standout(hits: Sequence[Hit]) -> float | None:
    """How far the closest of ``hits`` (a search of ``CROWD`` papers) stands out from the papers
    near the query: its chunk's dense similarity minus the fifth-closest paper's. A library that
    holds the paper a question is about usually sets it well apart; one without it offers a crowd
    of near-topic papers, none much closer than the rest. None with fewer papers than that."""
    closeness = sorted((h.dense_similarity or 0.0 for h in hits), reverse=True)
    return closeness[0] - closeness[_CROWD_RANK - 1] if len(closeness) >= _CROWD_RANK else None


def paper_ranking(chunks: Sequence[RankedChunk]) -> list[tuple[str, RankedChunk]]:
    """Papers in order of their best chunk, each with that chunk."""
    seen: dict[str, RankedChunk] = {}
    for chunk in chunks:
        seen.setdefault(chunk.paper_id, chunk)
    return list(seen.items())


def fuse(dense: Sequence[RankedChunk], keyword: Sequence[RankedChunk], rrf_k: int = 60) -> list[_Fused]:
    """Papers scored by sum(1 / (rrf_k + rank)) over both rankings, best first.

    A paper's text is the chunk it ranked best with in either list (dense on ties).
    """
    fused: dict[str, _Fused] = {}
    for name, ranking in (("dense", paper_ranking(dense)), ("keyword", paper_ranking(keyword))):
        for rank, (paper_id, chunk) in enumerate(ranking, 1):
            entry = fused.setdefault(paper_id, _Fused(paper_id))
            entry.score += 1.0 / (rrf_k + rank)
            setattr(entry, f"{name}_rank", rank)
            if name == "dense":
                entry.dense_similarity = getattr(chunk, "similarity", None)
            if rank < entry.best_rank:
                entry.best_rank, entry.chunk = rank, chunk
    return sorted(fused.values(), key=lambda e: (-e.score, e.best_rank, e.paper_id))


# How many more BM25 candidates a filtered search reads, of which the filters keep some: the
# filters are checked on the candidates by primary key, never inside FTS5's MATCH query (a MATCH
# joined with a filter scores every match before filtering).
FILTERED_DEPTH = 4
# How many more dense candidates a filtered search reads, in one query: up to the index's ef_search
# (800) a query costs about the same whatever it returns (at 80,000 papers: 200 results 13.5 ms,
# 800 16.7 ms, 1,600 23.4 ms), and one query of 800 beats 200 followed, when too few pass, by more.
FILTERED_DENSE_DEPTH = 16
_RETRIEVERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dense-search")


def search(
    catalog: Catalog,
    store: Any,
    query: str,
    k: int,
    within: Sequence[str] | None,
    filters: Filters,
    *,
    mode: SearchMode,
    candidates: int,
    rrf_k: int,
    keyword_max_share: float = 1.0,
) -> list[Hit]:
    """The ``k`` papers best matching ``query`` among those ``within`` names (all when None) and
    ``filters`` allows, best first: ``candidates`` from each retriever, fused by reciprocal rank,
    each paper with its best chunk."""
    n = max(candidates, k)
    # The two retrievers run at once: Chroma's query and SQLite's both release the GIL, so on two
    # cores a search costs the slower of the two rather than their sum.
    dense_run = (
        _RETRIEVERS.submit(_dense, catalog, store, query, n, k, within, filters)
        if mode != "keyword"
        else None
    )
    keyword = _keyword(catalog, query, n, within, filters, keyword_max_share) if mode != "dense" else []
    dense = dense_run.result() if dense_run is not None else []
    fused = fuse(dense, keyword, rrf_k)[: k * 2]
    papers = {p.id: p for p in catalog.papers([f.paper_id for f in fused])} if fused else {}
    # Dense hits come without their text: read only the texts of the chunks shown.
    texts = store.documents([f.best_chunk.chunk_id for f in fused if not f.best_chunk.text]) if fused else {}
    hits = [
        Hit(
            paper_id=f.paper_id,
            title=papers[f.paper_id].title,
            text=f.best_chunk.text or texts.get(f.best_chunk.chunk_id) or "",
            score=f.score,
            url=papers[f.paper_id].url,
            chunk_id=f.best_chunk.chunk_id,
            dense_similarity=f.dense_similarity,
            dense_rank=f.dense_rank,
            keyword_rank=f.keyword_rank,
        )
        for f in fused
        if f.paper_id in papers  # a paper not yet in the catalogue is mid-ingest
    ]
    return hits[:k]


def _dense(
    catalog: Catalog, store: Any, query: str, n: int, k: int, within: Sequence[str] | None, filters: Filters
) -> list:
    """The best ``n`` dense chunks that ``within`` and ``filters`` let through. Filtered, the
    nearest ``n * FILTERED_DENSE_DEPTH`` chunks of the whole library are read once and checked
    against the catalogue (the allowed ones among them are the nearest allowed ones, in order):
    Chroma's own metadata filter costs ~150 ms at 40,000 papers. Only a filter too narrow to leave
    ``k`` papers among those falls back to it."""
    if not filters:
        return store.query(query, n, within)
    found = store.query(query, n * FILTERED_DENSE_DEPTH, within)
    kept = catalog.allowed(list({h.paper_id for h in found}), filters)
    if len(kept) >= k:
        return [h for h in found if h.paper_id in kept][:n]
    if not catalog.any_allowed(filters):  # nothing to find: no need to ask Chroma's slow filter
        return []
    allowed = within
    if filters.author:  # not in the vectors' metadata: the catalogue names the author's papers
        by_author = set(catalog.filter_ids(Filters(author=filters.author)))
        allowed = [i for i in (within if within is not None else by_author) if i in by_author]
    return store.query(query, n, allowed, dataclasses.replace(filters, author=None))


def _keyword(
    catalog: Catalog, query: str, n: int, allowed: Sequence[str] | None, filters: Filters, max_share: float
) -> list[KeywordHit]:
    """The best ``n`` BM25 chunks that ``allowed`` and ``filters`` let through."""
    if not filters:
        return catalog.keyword_search(query, n, allowed, max_share)
    found = catalog.keyword_search(query, n * FILTERED_DEPTH, allowed, max_share)
    kept = catalog.allowed(list({h.paper_id for h in found}), filters)
    return [h for h in found if h.paper_id in kept][:n]
