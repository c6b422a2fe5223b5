"""Memory and cost of the prompt cache (saved model states of recent answers' prompts).

    python bench/prompt_cache.py            # with the configured RAG_PROMPT_CACHE_MB
    RAG_PROMPT_CACHE_MB=0 python bench/prompt_cache.py

Answers six seed questions, printing the process's peak RSS and the cache's own count of its
size after each, then times a cold digest of the 21 seeds (summaries are not saved in the cache;
if they were, each would pay for saving a state).
"""

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import QUESTIONS  # noqa: E402
from rag import Library  # noqa: E402


def peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # kB on Linux


def main() -> dict:
    library = Library(Path(tempfile.mkdtemp(prefix="rag-cache-")) / "store")
    library.ingest([ROOT / "seeds" / "digest-2023-03-11.txt"])
    llm = library.llm()
    after = []
    for question in QUESTIONS[:6]:
        library.ask(question)
        counted = llm.prompt_cache_bytes // 2**20
        after.append({"peak_rss_mb": peak_rss_mb(), "cache_counts_mb": counted})
    started = time.perf_counter()
    library.digest()
    return {"prompt_cache_mb": library.settings.prompt_cache_mb, "after_each_answer": after,
            "digest_21_cold_s": round(time.perf_counter() - started, 1)}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
