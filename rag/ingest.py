"""Write papers into the vector store and catalogue so that any kill is recoverable.

Order per batch: upsert the new chunk vectors, delete the paper's stale chunks,
then commit the catalogue rows. A catalogue row therefore always describes
vectors that were complete, and ``repair`` removes whatever a kill left behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .catalog import Catalog
from .chunking import Chunker
from .embedder import Embedder
from .errors import InputError
from .paper import Paper
from .store import VectorStore

Progress = Callable[[int, int], None]  # (papers done, papers total)


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[InputError] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        return (f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
                f"skipped {len(self.skipped)} in {self.seconds:.1f}s")

    def report(self) -> str:
        """The counts, then each skipped record by name and reason, one per line (Markdown)."""
        lines = [f"**{str(self).capitalize()}**"]
        lines += [f"- skipped {problem}" for problem in self.skipped]
        return "\n".join(lines)


def newest_versions(papers: Iterable[Paper]) -> list[Paper]:
    """One paper per id: the highest arXiv version, else the last one given."""
    chosen: dict[str, Paper] = {}
    for paper in papers:
        current = chosen.get(paper.id)
        if current is None or paper.version >= current.version:
            chosen[paper.id] = paper
    return list(chosen.values())


def repair(catalog: Catalog, store: VectorStore) -> None:
    """Make vectors and catalogue agree after an interrupted ingest or delete."""
    stored = store.chunk_ids_by_paper()
    states = catalog.states()
    orphans = [pid for pid in stored if pid not in states]
    store.delete_papers(orphans)
    incomplete = []
    for paper_id, state in states.items():
        expected = {f"{paper_id}#{state.content_hash[:8]}#{i}" for i in range(state.n_chunks)}
        have = stored.get(paper_id, set())
        store.delete_chunks(sorted(have - expected))
        if not expected <= have:
            incomplete.append(paper_id)
    if incomplete:  # vectors lost: forget the row so the next ingest rebuilds the paper
        catalog.delete(incomplete)


def ingest(papers: Sequence[Paper], *, catalog: Catalog, store: VectorStore, chunker: Chunker,
           embedder: Embedder, batch_papers: int, progress: Progress | None = None) -> IngestSummary:
    started = time.perf_counter()
    summary = IngestSummary()
    repair(catalog, store)
    papers = newest_versions(papers)
    states = catalog.states(p.id for p in papers)
    todo = []
    for paper in papers:
        state = states.get(paper.id)
        if state and (state.content_hash == paper.content_hash or state.version > paper.version):
            summary.unchanged += 1  # same content, or an older arXiv version than the stored one
        else:
            todo.append(paper)
            summary.updated += bool(state)
            summary.added += not state
    done = summary.unchanged
    if progress:
        progress(done, len(papers))
    for start in range(0, len(todo), batch_papers):
        batch = todo[start:start + batch_papers]
        _write_batch(batch, catalog, store, chunker, embedder)
        done += len(batch)
        if progress:
            progress(done, len(papers))
    summary.seconds = time.perf_counter() - started
    return summary


def _write_batch(batch: Sequence[Paper], catalog: Catalog, store: VectorStore, chunker: Chunker,
                 embedder: Embedder) -> None:
    chunked = [(paper, chunker.chunks(paper)) for paper in batch]
    chunks = [chunk for _, paper_chunks in chunked for chunk in paper_chunks]
    vectors = embedder.embed([c.embedding_text for c in chunks])
    by_id = {paper.id: paper for paper in batch}
    store.upsert(chunks, vectors, [_chunk_metadata(by_id[c.paper_id], c.position) for c in chunks])
    previous = store.chunk_ids_by_paper([p.id for p in batch])
    current = {c.id for c in chunks}
    store.delete_chunks(sorted(set().union(*previous.values()) - current) if previous else [])
    catalog.commit(chunked)


def _chunk_metadata(paper: Paper, position: int) -> dict:
    return {"paper_id": paper.id, "title": paper.title, "position": position,
            "content_hash": paper.content_hash, "source": paper.source, "year": paper.year or 0}
