"""What one-line summaries cost per paper, by the number of candidates decoded together (issue 14).

    python bench/summary_cost.py [--candidates 1,3,5] [--rounds 2]

The 21 seed papers are summarised cold (each pass with an empty summary cache) with each
candidate count in turn, the counts interleaved round by round so that a slower moment of the
machine falls on all of them alike. Reported per count: the median seconds per paper over every
paper of every round, the cold digest time of the 21 (median over rounds), and the time relative
to one candidate (the ratio is what carries over to another machine). Also per paper, each round:
the time to read the summary prompt and pick the first token, which no candidate count avoids.
"""

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library, Settings  # noqa: E402
from rag.catalog import Catalog  # noqa: E402
from rag.llm import Options  # noqa: E402
from rag.summaries import Method, summarize, summary_messages  # noqa: E402


def main(counts: list[int], rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(Settings.from_env(), background_summaries=False)
        library = Library(Path(tmp) / "store", settings=settings)
        library.ingest([ROOT / "seeds" / "digest-2023-03-11.txt"])
        llm = library.llm()
        llm.count_tokens("warm-up")  # the model load is start-up, not summary time
        per_paper = {n: [] for n in counts}
        digests = {n: [] for n in counts}
        reading = []
        for round_ in range(rounds):
            reading += [_first_token_seconds(llm, paper) for paper in library.papers()]
            for n in counts:
                method = dataclasses.replace(Method.from_settings(settings), candidates=n)
                cache = Catalog(Path(tmp) / f"summaries-{n}-{round_}.sqlite3")  # empty: every summary is made
                started = time.perf_counter()
                for paper in library.papers():
                    per_paper[n].append(summarize(paper, llm, cache, method).seconds)
                digests[n].append(time.perf_counter() - started)
                cache.close()
    one = statistics.median(per_paper[counts[0]])
    return {"papers": 21, "rounds": rounds, "model": llm.name,
            "median_s_to_read_the_prompt_and_pick_a_first_token": round(statistics.median(reading), 2),
            "by_candidates": {n: {"median_s_per_paper": round(statistics.median(per_paper[n]), 2),
                                  "cold_digest_21_s": round(statistics.median(digests[n]), 1),
                                  f"vs_{counts[0]}": round(statistics.median(per_paper[n]) / one, 2)}
                              for n in counts}}


def _first_token_seconds(llm, paper) -> float:
    started = time.perf_counter()
    llm.samples(summary_messages(paper), Options(max_tokens=1), count=1)
    return time.perf_counter() - started


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", default="1,3,4,5")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(main([int(n) for n in args.candidates.split(",")], args.rounds), indent=1))
