"""The paper catalogue and BM25 keyword index: one SQLite file beside Chroma's.

SQLite FTS5 gives a persistent, incrementally updated BM25 index with no extra
dependency, and its transactions make a paper's row and keyword entries change
together. A paper's row is written last during ingest, so a row means the
paper's vectors were complete when it was written.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .chunking import Chunk
from .errors import StoreError
from .paper import Paper

_SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, abstract TEXT NOT NULL, authors TEXT NOT NULL,
    url TEXT NOT NULL, published TEXT NOT NULL, year INTEGER, source TEXT NOT NULL,
    version INTEGER NOT NULL, content_hash TEXT NOT NULL, n_chunks INTEGER NOT NULL,
    added_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_text USING fts5(
    chunk_id UNINDEXED, paper_id UNINDEXED, title, text, tokenize = 'porter unicode61'
);
CREATE TABLE IF NOT EXISTS summaries (
    key TEXT PRIMARY KEY, paper_id TEXT NOT NULL, text TEXT NOT NULL, grounded INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, paper_id TEXT NOT NULL);
"""


@dataclass(frozen=True)
class StoredState:
    content_hash: str
    version: int
    n_chunks: int


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    paper_id: str
    text: str
    bm25: float  # SQLite's bm25(): lower is better


class Catalog:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()  # one connection shared by the app's worker threads
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Several app processes may share one catalogue: wait for a writer instead of failing.
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open keyword index {path}: {exc}") from exc

    def _run(self, sql: str, params: Sequence = ()) -> list[tuple]:
        try:
            with self._lock:
                return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"keyword index {self.path}: {exc}") from exc

    def states(self, paper_ids: Iterable[str] | None = None) -> dict[str, StoredState]:
        ids = list(paper_ids) if paper_ids is not None else None
        if ids is not None and not ids:
            return {}
        sql = "SELECT id, content_hash, version, n_chunks FROM papers"
        rows = self._run(sql + (f" WHERE id IN ({','.join('?' * len(ids))})" if ids else ""), ids or ())
        return {row[0]: StoredState(*row[1:]) for row in rows}

    def commit(self, items: Sequence[tuple[Paper, Sequence[Chunk]]]) -> None:
        """Replace each paper's row and keyword entries in one transaction."""
        with self._transaction():
            for paper, chunks in items:
                self._db.execute("DELETE FROM chunk_text WHERE paper_id = ?", (paper.id,))
                self._db.executemany(
                    "INSERT INTO chunk_text VALUES (?, ?, ?, ?)",
                    [(c.id, c.paper_id, c.title, c.text) for c in chunks],
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO papers (id, title, abstract, authors, url, published, year,"
                    " source, version, content_hash, n_chunks) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        paper.id,
                        paper.title,
                        paper.abstract,
                        json.dumps(list(paper.authors)),
                        paper.url,
                        paper.published,
                        paper.year,
                        paper.source,
                        paper.version,
                        paper.content_hash,
                        len(chunks),
                    ),
                )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """The block's writes in one transaction, holding the connection. Any failure rolls back
        (the connection is shared: left inside a transaction, every later write would fail); an
        SQLite one becomes a ``StoreError``."""
        try:
            with self._lock:
                self._db.execute("BEGIN")
                yield
                self._db.execute("COMMIT")
        except BaseException as exc:
            with self._lock:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"keyword index {self.path}: {exc}") from exc
            raise

    def update_details(self, papers: Sequence[Paper]) -> None:
        """Record new details (source, link, authors, date, version) of papers whose text is unchanged."""
        self._run_many(
            "UPDATE papers SET authors = ?, url = ?, published = ?, year = ?, source = ?, version = ? "
            "WHERE id = ?",
            [
                (json.dumps(list(p.authors)), p.url, p.published, p.year, p.source, p.version, p.id)
                for p in papers
            ],
        )

    def _run_many(self, sql: str, rows: Sequence[Sequence]) -> None:
        with self._transaction():
            self._db.executemany(sql, rows)

    def delete(self, paper_ids: Sequence[str]) -> int:
        """Remove the papers' rows, keyword entries and aliases in one transaction; how many rows went."""
        marks = ",".join("?" * len(paper_ids))
        with self._transaction():
            self._db.execute(f"DELETE FROM chunk_text WHERE paper_id IN ({marks})", paper_ids)
            deleted = self._db.execute(f"DELETE FROM papers WHERE id IN ({marks})", paper_ids).rowcount
            self._db.execute(f"DELETE FROM aliases WHERE paper_id IN ({marks})", paper_ids)
        return deleted

    def add_aliases(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Record (alias, paper id) pairs: another id under which a stored paper was given."""
        self._run_many("INSERT OR REPLACE INTO aliases VALUES (?, ?)", pairs)

    def resolve(self, paper_ids: Sequence[str]) -> list[str]:
        """The ids with aliases replaced by the id the paper is stored under."""
        if not paper_ids:
            return []
        rows = self._run(
            f"SELECT alias, paper_id FROM aliases WHERE alias IN ({','.join('?' * len(paper_ids))})",
            list(paper_ids),
        )
        found = dict(rows)
        return list(dict.fromkeys(found.get(i, i) for i in paper_ids))

    def titles(self) -> list[tuple[str, str, str]]:
        """(id, title, abstract) of every stored paper, for finding the same paper under another id."""
        return self._run("SELECT id, title, abstract FROM papers")

    def papers(self, paper_ids: Sequence[str] | None = None) -> list[Paper]:
        sql = "SELECT id, title, abstract, authors, url, published, source, version FROM papers"
        if paper_ids is not None:
            paper_ids = self.resolve(paper_ids)
            sql += f" WHERE id IN ({','.join('?' * len(paper_ids))})"
        rows = self._run(sql + " ORDER BY published DESC, added_at DESC, id", paper_ids or ())
        return [
            Paper(
                id=r[0],
                title=r[1],
                abstract=r[2],
                authors=tuple(json.loads(r[3])),
                url=r[4],
                published=r[5],
                source=r[6],
                version=r[7],
            )
            for r in rows
        ]

    def filter_ids(
        self, source: str | None = None, year: int | None = None, author: str | None = None
    ) -> list[str]:
        clauses: list[str] = []
        params: list[str | int] = []
        for clause, value in (
            ("source = ?", source),
            ("year = ?", int(year) if year else None),
            ("authors LIKE ?", f"%{author}%" if author else None),
        ):
            if value:
                clauses.append(clause)
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return [r[0] for r in self._run(f"SELECT id FROM papers{where}", params)]

    def keyword_search(
        self, query: str, limit: int, paper_ids: Sequence[str] | None = None
    ) -> list[KeywordHit]:
        terms = sorted(set(re.findall(r"\w+", query.lower())))
        if not terms or paper_ids == []:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        sql = "SELECT chunk_id, paper_id, text, bm25(chunk_text) FROM chunk_text WHERE chunk_text MATCH ?"
        params: list = [match]
        if paper_ids is not None:
            sql += f" AND paper_id IN ({','.join('?' * len(paper_ids))})"
            params += list(paper_ids)
        rows = self._run(sql + " ORDER BY bm25(chunk_text) LIMIT ?", params + [limit])
        return [KeywordHit(*row) for row in rows]

    def titles_with(self, words: Sequence[str], limit: int = 100) -> list[tuple[str, str]]:
        """(id, title) of the papers whose titles best match any of ``words`` (BM25), best first."""
        terms = list(dict.fromkeys(re.findall(r"\w+", " ".join(words).lower())))
        if not terms:
            return []
        match = "title : (" + " OR ".join(f'"{t}"' for t in terms) + ")"
        rows = self._run(
            "SELECT paper_id, title FROM chunk_text WHERE chunk_text MATCH ? "
            "ORDER BY bm25(chunk_text) LIMIT ?",
            [match, limit],
        )
        return list(dict.fromkeys(rows))

    def duplicate_rows(self) -> int:
        """Catalogue rows beyond one per paper id (0 in a consistent store)."""
        total, distinct = self._run("SELECT count(*), count(DISTINCT id) FROM papers")[0]
        return int(total) - int(distinct)

    def chunk_count(self) -> int:
        return self._run("SELECT count(*) FROM chunk_text")[0][0]

    def cached_summary(self, key: str) -> tuple[str, bool] | None:
        rows = self._run("SELECT text, grounded FROM summaries WHERE key = ?", (key,))
        return (rows[0][0], bool(rows[0][1])) if rows else None

    def cache_summary(self, key: str, paper_id: str, text: str, grounded: bool) -> None:
        self._run(
            "INSERT OR REPLACE INTO summaries (key, paper_id, text, grounded) VALUES (?, ?, ?, ?)",
            (key, paper_id, text, int(grounded)),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
