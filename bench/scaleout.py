"""Embedded vs server: Chroma's server and llama-cpp-python's OpenAI-compatible model server.

    python bench/scaleout.py

- ingest throughput and search latency (100 queries) on the 500 PubMedQA abstracts, embedded
  Chroma next to Chroma's server on loopback;
- ask latency (10 seed questions: first token, total) in-process next to the model server;
- 8 concurrent asks through the app (gradio_client) with the app using the model server.
Servers are started and stopped here, on loopback; both paths run in this one process, one after
the other, so their timings share the machine's conditions.
"""

import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from latency import QUESTIONS  # noqa: E402
from rag import Library, Settings  # noqa: E402
from rag.evaluation import load_pubmedqa  # noqa: E402
from rag.models import resolve  # noqa: E402
from servers import ChromaServer, LlamaServer, free_port  # noqa: E402

PUBMEDQA = ROOT.parent / "shared" / "eval" / "pubmedqa_dev.jsonl"


def store_run(tmp: Path, url: str | None, embedder) -> dict:
    papers, items = load_pubmedqa(PUBMEDQA)
    library = Library(settings=Settings.from_env(store_dir=tmp / ("server" if url else "embedded"),
                                                 chroma_url=url or ""), embedder=embedder)
    library.store.count()  # connection/start-up is not ingest
    started = time.perf_counter()
    library.add(papers)
    seconds = time.perf_counter() - started
    latencies = []
    for item in items[:100]:
        t = time.perf_counter()
        library.search(item.question, k=5)
        latencies.append((time.perf_counter() - t) * 1000)
    return {"ingest_s": round(seconds, 2), "abstracts_per_s": round(len(papers) / seconds, 1),
            "search_median_ms": round(statistics.median(latencies), 1),
            "search_p95_ms": round(sorted(latencies)[94], 1)}


def ask_run(library: Library) -> dict:
    library.llm().count_tokens("warm-up")
    answers = [library.ask(q) for q in QUESTIONS]
    firsts = [a.timings.get("first_token", a.timings["total"]) for a in answers]
    return {"answered": sum(not a.abstained for a in answers),
            "median_first_token_s": round(statistics.median(firsts), 2),
            "median_total_s": round(statistics.median(a.timings["total"] for a in answers), 2)}


def concurrent_app_asks(library: Library) -> dict:
    from rag import app as app_module
    from gradio_client import Client

    demo = app_module.build_app(library).queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                            quiet=True, ssr_mode=False)
    try:
        client = Client(url, verbose=False)
        questions = (QUESTIONS * 2)[:8]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            jobs = [client.submit(q, api_name="/ask") for q in questions]
            results = list(pool.map(lambda job: job.result(timeout=900), jobs))
        wall = time.perf_counter() - started
    finally:
        demo.close()
    return {"asks": len(results), "completed": sum(bool(r["text"]) for r in results),
            "answered": sum(not r["abstained"] for r in results), "wall_s": round(wall, 1)}


def main() -> dict:
    from rag import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.embed(["warm-up"])
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        chroma = ChromaServer(tmp / "chroma").start()
        try:
            result["store_embedded"] = store_run(tmp, None, embedder)
            result["store_chroma_server"] = store_run(tmp, chroma.url, embedder)
        finally:
            chroma.stop()
        seeded = Library(tmp / "seeds-store", embedder=embedder)
        seeded.ingest([ROOT / "seeds"])
        result["ask_in_process"] = ask_run(seeded)
        spec, path = resolve(Settings().model, Settings().model_cache_dir, Settings().model_format)
        llama = LlamaServer(path, tmp / "llama.log", spec.chat_format).start()
        try:
            remote = Library(settings=Settings.from_env(store_dir=tmp / "seeds-store", llm_url=llama.url,
                                                        llm_model="default"), embedder=embedder)
            result["ask_model_server"] = ask_run(remote)
            result["app_8_concurrent_asks_model_server"] = concurrent_app_asks(remote)
        finally:
            llama.stop()
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
