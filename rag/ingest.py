"""Write papers into the vector store and catalogue so that any kill is recoverable.

Order per batch: upsert the new chunk vectors, delete the paper's stale chunks,
then commit the catalogue rows. A catalogue row therefore always describes
vectors that were complete, and ``repair`` removes whatever a kill left behind.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .catalog import Catalog
from .chunking import Chunk, Chunker
from .embedder import Embedder
from .errors import InputError
from .paper import Paper, title_key

if TYPE_CHECKING:  # chromadb is imported when a store is opened, not at start-up
    from .store import VectorStore

Progress = Callable[[int, int], None]  # (papers done, papers total)


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    relabelled: int = 0  # same text, new details (file name, link, authors): recorded without re-embedding
    merged: list[tuple[str, str]] = field(default_factory=list)  # (id given, id stored): the same paper twice
    skipped: list[InputError] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        relabelled = f", details updated {self.relabelled}" if self.relabelled else ""
        merged = f", merged {len(self.merged)} duplicates" if self.merged else ""
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}{relabelled}{merged}, "
            f"skipped {len(self.skipped)} in {self.seconds:.1f}s"
        )

    def report(self) -> str:
        """The counts, then each skipped record by name and reason, one per line (Markdown)."""
        lines = [f"**{str(self).capitalize()}**"]
        lines += [f"- merged {given} into {kept}: same title and abstract" for given, kept in self.merged]
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


def _same_text(a: str, b: str) -> bool:
    """Near-identical abstracts: nine in ten of their distinct words shared (a DOI record and an
    arXiv export of one paper differ in a word or some punctuation)."""
    words_a, words_b = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return bool(words_a | words_b) and len(words_a & words_b) / len(words_a | words_b) >= 0.9


def _id_rank(paper: Paper) -> int:
    """Which id a merged paper keeps: arXiv's, then a DOI, then a source's own, then a title hash."""
    return (
        0
        if paper.id.startswith("arxiv:")
        else 1
        if paper.id.startswith("doi:")
        else 3
        if paper.id.startswith("title:")
        else 2
    )


def merge_duplicates(papers: Sequence[Paper], catalog: Catalog) -> tuple[list[Paper], list[tuple[str, str]]]:
    """The papers without second copies of one paper under another id (the same normalised title
    and a near-identical abstract, in this batch or already stored), and (id given, id kept) pairs."""
    stored = {title_key(title): (pid, abstract) for pid, title, abstract in catalog.titles()}
    known = catalog.states(p.id for p in papers)
    kept: dict[str, Paper] = {}
    merged = []
    for paper in sorted(papers, key=_id_rank):
        key = title_key(paper.title)
        twin = kept.get(key)
        if twin is not None and twin.id != paper.id and _same_text(twin.abstract, paper.abstract):
            merged.append((paper.id, twin.id))
            continue
        pid, abstract = stored.get(key, (None, ""))
        if (
            paper.id not in known
            and pid is not None
            and pid != paper.id
            and _same_text(abstract, paper.abstract)
        ):
            merged.append((paper.id, pid))
            continue
        kept.setdefault(key, paper)
        kept[f"{key}\x00{paper.id}"] = paper  # a same-titled but different paper is kept too
    order = {id(p): i for i, p in enumerate(papers)}
    unique = {id(p): p for p in kept.values()}
    return sorted(unique.values(), key=lambda p: order[id(p)]), merged


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


def refresh_metadata(catalog: Catalog, store: VectorStore, batch: int = 1000) -> None:
    """Rewrite every stored paper's shared chunk metadata (after the catalogue gained fields that
    the store's filters read), without embedding anything again."""
    ids = list(catalog.states())
    for start in range(0, len(ids), batch):
        papers = catalog.papers(ids[start : start + batch])
        store.update_metadata({p.id: chunk_metadata(p, None) for p in papers})


def ingest(
    papers: Sequence[Paper],
    *,
    catalog: Catalog,
    store: VectorStore,
    chunker: Chunker,
    embedder: Embedder,
    batch_papers: int,
    progress: Progress | None = None,
) -> IngestSummary:
    started = time.perf_counter()
    summary = IngestSummary()
    repair(catalog, store)
    papers, summary.merged = merge_duplicates(newest_versions(papers), catalog)
    catalog.add_aliases(summary.merged)
    states = catalog.states(p.id for p in papers)
    stored = {p.id: p for p in catalog.papers([p.id for p in papers if p.id in states])} if states else {}
    todo, relabel = [], []
    for paper in papers:
        state = states.get(paper.id)
        if state and state.version > paper.version:
            summary.unchanged += 1  # an older arXiv version than the stored one
        elif state and state.content_hash == paper.content_hash:
            if paper.details() == stored[paper.id].details():
                summary.unchanged += 1
            else:
                relabel.append(paper)
        else:
            todo.append(paper)
            summary.updated += bool(state)
            summary.added += not state
    if relabel:
        store.update_metadata({p.id: chunk_metadata(p, None) for p in relabel})
        catalog.update_details(relabel)
        summary.relabelled = len(relabel)
    done = summary.unchanged + summary.relabelled
    if progress:
        progress(done, len(papers))
    # Batch i is written (vectors, then its catalogue rows) while batch i+1 is chunked and
    # embedded: one write at a time, in order, so a kill still loses at most the batches in flight.
    with ThreadPoolExecutor(1, thread_name_prefix="ingest-writer") as writer:
        writing: Future | None = None
        for start in range(0, len(todo), batch_papers):
            batch = todo[start : start + batch_papers]
            chunked = [(paper, chunker.chunks(paper)) for paper in batch]
            vectors = embedder.embed([c.embedding_text for _, chunks in chunked for c in chunks])
            if writing is not None:
                done += writing.result()
                if progress:
                    progress(done, len(papers))
            writing = writer.submit(_write_batch, chunked, vectors, catalog, store)
        if writing is not None:
            done += writing.result()
            if progress:
                progress(done, len(papers))
    summary.seconds = time.perf_counter() - started
    return summary


def _write_batch(
    chunked: Sequence[tuple[Paper, list[Chunk]]], vectors, catalog: Catalog, store: VectorStore
) -> int:
    """Store one embedded batch; how many papers it held."""
    batch = [paper for paper, _ in chunked]
    chunks = [chunk for _, paper_chunks in chunked for chunk in paper_chunks]
    by_id = {paper.id: paper for paper in batch}
    store.upsert(chunks, vectors, [chunk_metadata(by_id[c.paper_id], c.position) for c in chunks])
    previous = store.chunk_ids_by_paper([p.id for p in batch])
    current = {c.id for c in chunks}
    store.delete_chunks(sorted(set().union(*previous.values()) - current) if previous else [])
    catalog.commit(chunked)
    return len(batch)


def paper_vectors(papers: Sequence[Paper], chunker: Chunker, embedder: Embedder):
    """Each paper's chunk vectors averaged, unit length: what ``VectorStore.paper_vectors`` reads
    from a store, computed without storing anything."""
    import numpy as np

    chunked = [chunker.chunks(p) for p in papers]
    flat = embedder.embed([c.embedding_text for chunks in chunked for c in chunks])
    out, at = [], 0
    for chunks in chunked:
        total = flat[at : at + len(chunks)].sum(axis=0)
        out.append(total / max(float(np.linalg.norm(total)), 1e-12))
        at += len(chunks)
    return np.stack(out) if out else np.zeros((0, embedder.dimensions), dtype=np.float32)


def chunk_metadata(paper: Paper, position: int | None) -> dict:
    """A chunk's metadata in Chroma (``position`` None: the fields every chunk of the paper shares):
    what the store's filters read (``store._where``)."""
    shared = {
        "paper_id": paper.id,
        "title": paper.title,
        "content_hash": paper.content_hash,
        "source": paper.source,
        "year": paper.year or 0,
        "day": paper.day,
    }
    if paper.categories:  # Chroma refuses an empty list
        shared["categories"] = list(paper.categories)
    return shared if position is None else {**shared, "position": position}
