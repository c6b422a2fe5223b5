"""Does summarising in the background slow down questions? (issue 14)

    python bench/background.py [--papers 200]

One process, the model loaded once. The ten seed questions of bench/latency.py are asked
twice: first with the model otherwise idle, then while a background run (``SummaryWorker``, as
the app starts after an ingest) summarises ``--papers`` SciTLDR dev abstracts stored beside the
seeds. Each question is a first question in its own store (no chat history), so the prompt cache
does not carry one phase's prompts into the other. Reported: median time to first token in each
phase, the median time of one background summary, and how many summaries were made while the
questions were asked. The issue's bound: the second median at most one summary's time above the first.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import QUESTIONS  # noqa: E402
from rag import Library, Settings  # noqa: E402
from rag.background import SummaryWorker  # noqa: E402
from rag.evaluation import load_scitldr  # noqa: E402

SCITLDR = ROOT.parent / "shared" / "eval" / "scitldr_a_dev.jsonl"


def first_tokens(library: Library) -> list[float]:
    return [library.ask(q).timings.get("first_token") for q in QUESTIONS]


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--data", default=str(SCITLDR))
    args = parser.parse_args()
    settings = Settings.from_env(background_summaries=False)
    # The background run is still going when the questions end: its store is removed under it.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        idle = Library(Path(tmp) / "idle", settings=settings)
        idle.ingest([ROOT / "seeds"])
        idle.llm().count_tokens("warm-up")
        alone = first_tokens(idle)

        busy = Library(Path(tmp) / "busy", settings=settings)
        busy.ingest([ROOT / "seeds"])
        busy.add([paper for paper, _ in load_scitldr(args.data, args.papers)])
        summary_seconds = []
        original = busy.summarize_pending

        def timed_pending(**kwargs):  # the worker's run, with each summary's time recorded
            last = [time.perf_counter()]

            def progress(done, total):
                now = time.perf_counter()
                summary_seconds.append(now - last[0])
                last[0] = now
                kwargs["progress"](done, total)

            return original(**{**kwargs, "progress": progress})

        busy.summarize_pending = timed_pending
        worker = SummaryWorker(busy)
        worker.start()
        time.sleep(5)  # the run is under way
        before = len(summary_seconds)
        during = first_tokens(busy)
        made_meanwhile = len(summary_seconds) - before
        still_running = worker.running
    answered_alone = [t for t in alone if t is not None]
    answered_during = [t for t in during if t is not None]
    return {"questions": len(QUESTIONS), "background_papers": args.papers,
            "first_token_alone_s": [round(t, 2) for t in answered_alone],
            "first_token_during_background_s": [round(t, 2) for t in answered_during],
            "median_first_token_alone_s": round(statistics.median(answered_alone), 2),
            "median_first_token_during_background_s": round(statistics.median(answered_during), 2),
            "median_summary_s": round(statistics.median(summary_seconds), 2),
            "summaries_made_while_asking": made_meanwhile,
            "background_still_running_at_the_end": still_running}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
