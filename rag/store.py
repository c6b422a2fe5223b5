"""Chunk vectors in Chroma: the only module that imports chromadb."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .chunking import Chunk
from .embedder import INTEGER_NAME, SHIPPED_NAME, Embedder, MiniLMEmbedder
from .errors import StoreError
from .filters import Filters


@functools.cache
def _embedding_function_type() -> type:
    """Our ``Embedder`` as a Chroma embedding function, so Chroma records which model built a
    collection (and can rebuild it from that record). Defined on first use: importing chromadb
    takes 0.4 s that the app's start does not need."""
    from chromadb import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    @register_embedding_function
    class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
        def __init__(self, embedder: Embedder | None = None):
            self.embedder = embedder or MiniLMEmbedder()

        def __call__(self, input: Documents) -> Embeddings:
            return list(self.embedder.embed(list(input)))

        @staticmethod
        def name() -> str:
            return "rag-abstracts"

        def get_config(self) -> dict[str, Any]:
            return {"model": self.embedder.name, "max_tokens": self.embedder.max_tokens}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
            model = config.get("model")
            if model not in (None, SHIPPED_NAME, INTEGER_NAME):
                raise StoreError(f"collection was built with embedder {model!r}; open it with that embedder")
            from .settings import Settings

            return ChromaEmbeddingFunction(
                MiniLMEmbedder(
                    max_tokens=config.get("max_tokens", 256),
                    integer_matmul=model == INTEGER_NAME,
                    cache=Settings.from_env().model_cache_dir,
                )
            )

        def default_space(self) -> Literal["cosine"]:
            return "cosine"

        def supported_spaces(self) -> list[Literal["cosine", "l2", "ip"]]:
            return ["cosine"]

    return ChromaEmbeddingFunction


_PAGE = 10_000  # rows per Chroma get when reading a whole collection


def paper_of(chunk_id: str) -> str:
    """The paper id in a chunk id ("<paper id>#<content hash>#<position>", ``chunking.Chunk``)."""
    return chunk_id.rsplit("#", 2)[0]


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    paper_id: str
    text: str
    similarity: float  # cosine similarity, 1 is identical


class VectorStore:
    """Chunk vectors in an embedded Chroma store at ``path``, or on Chroma's server at ``url``."""

    def __init__(
        self,
        path: Path,
        collection: str,
        embedder: Embedder,
        url: str | None = None,
        ef_search: int | None = None,
    ):
        self.embedder = embedder
        self.where = url or str(path)
        try:
            self._client = _client(path, url)
            self._collection = self._open(collection)
            if ef_search and self.ef_search() != ef_search:
                # Before the first query: Chroma reads ef_search when it loads the index.
                self.set_ef_search(ef_search)
        except StoreError:
            raise
        except Exception as exc:  # chromadb raises many unrelated types
            raise StoreError(f"cannot open Chroma store at {self.where}: {exc}") from exc

    def _open(self, name: str):
        """The collection, created marked with our embedder; refuses one built by another embedder."""
        function = _embedding_function_type()(self.embedder)
        existing = {c.name for c in self._client.list_collections()}
        if name not in existing:
            return self._client.create_collection(
                name,
                embedding_function=function,
                metadata={"embedder": self.embedder.name},
                configuration={"hnsw": {"space": "cosine"}},
            )
        collection = self._client.get_collection(name, embedding_function=function)
        built_by = (collection.metadata or {}).get("embedder")
        if built_by is None and self.embedder.name == SHIPPED_NAME:
            # Stores made before collections were marked were all built with the bundled MiniLM.
            collection.modify(metadata={"embedder": self.embedder.name})
            built_by = self.embedder.name
        if built_by != self.embedder.name:
            raise StoreError(
                f"collection {name!r} at {self.where} holds vectors from embedder {built_by!r}, "
                f"not {self.embedder.name!r}; mixing them would corrupt search. Use that "
                "embedder, or another store or collection." + _form_hint(built_by, self.embedder.name)
            )
        return collection

    def _call(self, what: str, method, **kwargs):
        try:
            return method(**kwargs)
        except Exception as exc:
            raise StoreError(f"Chroma {what} at {self.where} failed: {exc}") from exc

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, metadata: Sequence[dict]) -> None:
        """Write chunks in slices of the client's largest batch, so no number of chunks can fail
        as "Batch size of N is greater than max batch size"."""
        step = self._max_batch()
        for start in range(0, len(chunks), step):
            part = slice(start, start + step)
            self._call(
                "upsert",
                self._collection.upsert,
                ids=[c.id for c in chunks[part]],
                embeddings=vectors[part],
                documents=[c.text for c in chunks[part]],
                metadatas=list(metadata[part]),
            )

    def _max_batch(self) -> int:
        try:
            return max(1, int(self._client.get_max_batch_size()))
        except Exception:  # an older server without the endpoint: Chroma's smallest documented limit
            return 5000

    def update_metadata(self, shared: dict[str, dict]) -> None:
        """Merge new shared metadata (paper id -> fields) into every chunk of those papers,
        without touching their vectors."""
        chunks = self.chunk_ids_by_paper(list(shared))
        ids = [(chunk_id, paper_id) for paper_id, found in chunks.items() for chunk_id in sorted(found)]
        step = self._max_batch()
        for start in range(0, len(ids), step):
            part = ids[start : start + step]
            self._call(
                "update",
                self._collection.update,
                ids=[c for c, _ in part],
                metadatas=[shared[p] for _, p in part],
            )

    def chunk_ids_by_paper(self, paper_ids: Sequence[str] | None = None) -> dict[str, set[str]]:
        """The stored chunk ids of each of ``paper_ids`` (all papers when None)."""
        if paper_ids is not None and not paper_ids:
            return {}
        where = {"paper_id": {"$in": list(paper_ids)}} if paper_ids is not None else None
        grouped: dict[str, set[str]] = {}
        # Read a page at a time: one get of a whole big collection fails inside Chroma ("too many
        # SQL variables", past ~32,000 chunks).
        for offset in range(0, max(1, self.count()), _PAGE):
            found = self._call(
                "get", self._collection.get, where=where, include=["metadatas"], offset=offset, limit=_PAGE
            )
            for chunk_id, meta in zip(found["ids"], found["metadatas"]):
                grouped.setdefault(meta["paper_id"], set()).add(chunk_id)
            if len(found["ids"]) < _PAGE:
                break
        return grouped

    def paper_vectors(self, paper_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each paper's stored chunk embeddings averaged (unit length): what the paper is about,
        without embedding anything again."""
        if not paper_ids:
            return {}
        found = self._call(
            "get",
            self._collection.get,
            where={"paper_id": {"$in": list(paper_ids)}},
            include=["metadatas", "embeddings"],
        )
        sums: dict[str, np.ndarray] = {}
        for meta, vector in zip(found["metadatas"], found["embeddings"]):
            sums[meta["paper_id"]] = sums.get(meta["paper_id"], 0) + np.asarray(vector, dtype=np.float32)
        return {
            paper_id: total / max(float(np.linalg.norm(total)), 1e-12) for paper_id, total in sums.items()
        }

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._call("delete", self._collection.delete, ids=list(chunk_ids))

    def delete_papers(self, paper_ids: Sequence[str]) -> None:
        if paper_ids:
            self._call("delete", self._collection.delete, where={"paper_id": {"$in": list(paper_ids)}})

    def query(
        self, text: str, limit: int, paper_ids: Sequence[str] | None = None, filters: Filters = Filters()
    ) -> list[DenseHit]:
        """The ``limit`` chunks nearest ``text`` among the papers ``paper_ids`` names (all when None)
        that ``filters`` allows (an author is filtered by the caller, through ``paper_ids``). Only
        ids and distances are read (a chunk id carries its paper's id): reading every candidate's
        text and metadata cost as much as the search itself. ``documents`` reads the texts wanted."""
        if paper_ids is not None and not paper_ids:
            return []
        found = self._call(
            "query",
            self._collection.query,
            query_embeddings=self.embedder.embed([text]),
            n_results=max(1, limit),
            where=_where(filters, paper_ids),
            include=["distances"],
        )
        return [
            DenseHit(chunk_id, paper_of(chunk_id), "", 1.0 - distance)
            for chunk_id, distance in zip(found["ids"][0], found["distances"][0])
        ]

    def documents(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """The text of each chunk, by id."""
        if not chunk_ids:
            return {}
        found = self._call("get", self._collection.get, ids=list(chunk_ids), include=["documents"])
        return dict(zip(found["ids"], found["documents"]))

    def count(self) -> int:
        return self._call("count", self._collection.count)

    def set_ef_search(self, ef: int) -> None:
        """How many neighbours the HNSW search explores (more: better recall, slower); kept with
        the collection, and read when the index is loaded (a process that has already searched
        keeps its value until it opens the store again). Chroma's default is 100."""
        self._call("modify", self._collection.modify, configuration={"hnsw": {"ef_search": int(ef)}})

    def ef_search(self) -> int | None:
        hnsw = (self._collection.configuration or {}).get("hnsw") or {}
        return hnsw.get("ef_search")

    def vectors(self, offset: int, limit: int) -> tuple[list[str], np.ndarray]:
        """A slice of the stored chunk ids and their vectors (for exact search and exports)."""
        found = self._call("get", self._collection.get, offset=offset, limit=limit, include=["embeddings"])
        return list(found["ids"]), np.asarray(found["embeddings"], dtype=np.float32)


def _where(filters: Filters, paper_ids: Sequence[str] | None) -> dict | None:
    """A Chroma ``where`` over the chunk metadata ``ingest.chunk_metadata`` writes."""
    clauses: list[dict] = []
    if paper_ids is not None:
        clauses.append({"paper_id": {"$in": list(paper_ids)}})
    if filters.source:
        clauses.append({"source": filters.source})
    if filters.year:
        clauses.append({"year": int(filters.year)})
    if filters.category:
        clauses.append({"categories": {"$contains": filters.category}})
    if filters.first_day:
        clauses.append({"day": {"$gte": filters.first_day}})
    if filters.last_day:
        clauses.append({"day": {"$lte": filters.last_day}})
    return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _form_hint(built_by: str | None, ours: str) -> str:
    """How to open a store built by the bundled MiniLM's other form."""
    if {built_by, ours} == {SHIPPED_NAME, INTEGER_NAME}:
        value = 1 if built_by == INTEGER_NAME else 0
        return (
            f" This store was built by the bundled MiniLM's other form: set RAG_EMBED_INTEGER_MATMUL={value}."
        )
    return ""


def _client(path: Path, url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)  # offline by construction
    if not url:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        raise StoreError(f"RAG_CHROMA_URL={url!r} is not a URL like http://127.0.0.1:8000")
    return chromadb.HttpClient(
        host=parts.hostname,
        port=parts.port or (443 if parts.scheme == "https" else 8000),
        ssl=parts.scheme == "https",
        settings=settings,
    )
