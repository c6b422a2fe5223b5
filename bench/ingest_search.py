"""Ingest throughput, onnxruntime share and search latency.

    python bench/ingest_search.py seeds            # the 21 seed abstracts
    python bench/ingest_search.py pubmedqa         # the 500 PubMedQA abstracts + 100 queries

Each run uses a fresh temporary store in this process, so ``peak_rss_mb`` is
the peak of one ingest (plus model load).
"""

import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library, load_path  # noqa: E402
from rag.evaluation import load_pubmedqa  # noqa: E402

PUBMEDQA = ROOT.parent / "shared" / "eval" / "pubmedqa_dev.jsonl"


def main(which: str) -> dict:
    if which == "seeds":
        papers, questions = load_path(ROOT / "seeds" / "digest-2023-03-11.txt").papers, []
    else:
        papers, items = load_pubmedqa(PUBMEDQA)
        questions = [item.question for item in items[:100]]
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "store")
        library.embedder.embed(["warm-up"])  # model load is start-up, not ingest
        library.store.count()
        library.embedder.session_seconds = 0.0
        started = time.perf_counter()
        summary = library.add(papers)
        seconds = time.perf_counter() - started
        ort = library.embedder.session_seconds
        latencies = []
        for question in questions:
            t = time.perf_counter()
            library.search(question, k=5)
            latencies.append((time.perf_counter() - t) * 1000)
        stats = library.stats()
    return {
        "corpus": which, "papers": summary.added, "chunks": stats.chunks,
        "ingest_seconds": round(seconds, 2), "abstracts_per_second": round(len(papers) / seconds, 1),
        "onnxruntime_seconds": round(ort, 2), "onnxruntime_share": round(ort / seconds, 3),
        "pipeline_overhead_over_onnxruntime": round((seconds - ort) / ort, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "search_median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "search_p95_ms": round(sorted(latencies)[int(len(latencies) * 0.95)], 1) if latencies else None,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else "pubmedqa"), indent=2))
