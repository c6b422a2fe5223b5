"""Search latency and the approximate index's recall in a big library (bench/big_store.py).

    python bench/search_scale.py --store /work/big40k [--ef 800] [--max-share 0.1 1.0]

Queries: the 100 first questions of bench/factoid/factoid_dev.jsonl (real question wording, ML
topics), searched as the answer path searches them (hybrid, k=3, settings.candidates each).
Chroma reads ef_search when it loads the index, so one run measures one value (``--ef``, set as
the store opens; default: the setting). Reported per keyword_max_share value (one JSON line each):
- p50 / p95 of the whole hybrid search, unfiltered and with each filter (an arXiv category, a
  30-day window, an author), and of its parts (query embedding, dense, BM25, catalogue reads);
- recall@10 of Chroma's HNSW against exact search (every stored vector, brute force), chunks.
Each query runs once as a warm-up, then the median of 3 timed runs is its time.
"""

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library, Settings  # noqa: E402
from rag import Filters  # noqa: E402

FACTOID = ROOT / "bench" / "factoid" / "factoid_dev.jsonl"
FILTERS = {
    "none": Filters(),
    "category": Filters(category="cs.CL"),
    "days": Filters(since="2025-06-01", until="2025-06-30"),
    "author": Filters(author="Wang"),
}


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in FACTOID.read_text().splitlines() if line.strip()]
    return [row["question"] for row in rows[:n]]


def timed(fn, runs: int = 3) -> float:
    fn()  # warm-up: first reads of pages and index blocks
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50": round(ordered[len(ordered) // 2], 1), "p95": round(ordered[int(len(ordered) * 0.95) - 1], 1)}


def exact_top(library: Library, queries: np.ndarray, k: int) -> list[set[str]]:
    """Exact top-``k`` chunk ids per query vector, over every stored vector."""
    ids: list[str] = []
    scores = []
    store, step, offset = library.store, 5000, 0
    while True:
        chunk_ids, vectors = store.vectors(offset, step)
        if not chunk_ids:
            break
        ids += chunk_ids
        scores.append(queries @ vectors.T)
        offset += step
    similarity = np.concatenate(scores, axis=1)
    top = np.argsort(-similarity, axis=1)[:, :k]
    return [{ids[i] for i in row} for row in top]


def recall(library: Library, texts: list[str], exact: list[set[str]], k: int) -> float:
    found = [{h.chunk_id for h in library.store.query(t, k)} for t in texts]
    return float(np.mean([len(f & e) / k for f, e in zip(found, exact)]))


def parts(library: Library, query: str) -> dict[str, float]:
    n = library.settings.candidates
    return {
        "embed": timed(lambda: library.embedder.embed([query])),
        "dense": timed(lambda: library.store.query(query, n)),
        "bm25": timed(lambda: library._catalog.keyword_search(query, n, None, library.settings.keyword_max_share)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--ef", type=int, help="HNSW ef_search (default: settings.hnsw_ef_search)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--chroma-server", action="store_true",
                        help="serve the store's vectors with Chroma's server on loopback and search through it")
    parser.add_argument("--max-share", type=float, nargs="+",
                        help="keyword_max_share values to time (default: the setting; 1.0: every word)")
    args = parser.parse_args()
    server = None
    if args.chroma_server:  # the same persisted vectors, behind Chroma's HTTP server
        sys.path.insert(0, str(ROOT / "tests"))
        from servers import ChromaServer

        server = ChromaServer(Path(args.store) / "chroma").start()
    url = server.url if server else None
    library = Library(args.store, settings=Settings.from_env(hnsw_ef_search=args.ef, chroma_url=url))
    texts = questions(args.queries)
    vectors = library.embedder.embed(texts)
    exact = exact_top(library, vectors, 10)
    found = round(recall(library, texts, exact, 10), 4)
    for share in args.max_share or [library.settings.keyword_max_share]:
        library.settings = dataclasses.replace(library.settings, keyword_max_share=share)
        report: dict = {"store": args.store, "papers": library.count(), "chunks": library.store.count(),
                        "ef_search": library.store.ef_search(), "keyword_max_share": share, "recall@10": found}
        for name, filters in FILTERS.items():
            times = [timed(lambda q=q: library.search(q, k=3, filters=filters)) for q in texts]
            report[f"search_{name}_ms"] = percentiles(times)
        split = [parts(library, q) for q in texts]
        for part in ("embed", "dense", "bm25"):
            report[f"{part}_ms"] = percentiles([s[part] for s in split])
        report["chroma"] = "server" if server else "embedded"
        print(json.dumps(report), flush=True)
    if server:
        server.stop()


if __name__ == "__main__":
    main()
