"""Retrieval evaluation over a PubMedQA-format file (question + its abstract)."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import InputError
from .paper import make_paper

MODES = ("dense", "keyword", "hybrid")


@dataclass(frozen=True)
class QAItem:
    paper_id: str
    question: str


@dataclass
class RetrievalScores:
    mode: str
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float  # mean reciprocal rank of the question's own abstract, cut at 10
    median_ms: float  # per-query search latency


def load_pubmedqa(path: str | Path, limit: int | None = None):
    """Papers and questions from a PubMedQA jsonl (``pmid``, ``question``, ``abstract``)."""
    papers, items = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if limit is not None and len(items) >= limit:
                break
            try:
                row = json.loads(line)
                # A neutral title: the question must not leak into what is indexed.
                paper = make_paper(f"PubMed {row['pmid']}", row["abstract"], given_id=f"pmid:{row['pmid']}",
                                   source="pubmedqa", path=str(path), record=f"line {number}")
                items.append(QAItem(paper.id, row["question"]))
                papers.append(paper)
            except (json.JSONDecodeError, KeyError) as exc:
                raise InputError(f"not a PubMedQA record ({exc})", str(path), f"line {number}") from exc
    return papers, items


def score(library, items: list[QAItem], mode: str) -> RetrievalScores:
    ranks, latencies = [], []
    for item in items:
        started = time.perf_counter()
        hits = library.search(item.question, k=10, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        ids = [h.paper_id for h in hits]
        ranks.append(ids.index(item.paper_id) + 1 if item.paper_id in ids else None)
    n = len(items)
    recall = lambda k: sum(1 for r in ranks if r and r <= k) / n
    latencies.sort()
    return RetrievalScores(mode, recall(1), recall(5), recall(10), sum(1 / r for r in ranks if r) / n,
                           latencies[len(latencies) // 2])


def evaluate_retrieval(data: str | Path, limit: int | None = None, progress=None) -> dict:
    """Index the file's abstracts in a temporary store and score every mode on its questions."""
    from .library import Library

    papers, items = load_pubmedqa(data, limit)
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        library = Library(Path(tmp) / "store")
        started = time.perf_counter()
        summary = library.add(papers, progress=progress)
        ingest_seconds = time.perf_counter() - started
        results = [asdict(score(library, items, mode)) for mode in MODES]
        library.close()
    return {"data": str(data), "questions": len(items), "papers": summary.added,
            "ingest_seconds": round(ingest_seconds, 2), "modes": results}
