"""A day of arXiv through the daily flow: fetch and store, rank for a reader, the top lines.

    python bench/daily_day.py [--top 20]

The corpus's last day (../shared/corpora/arxiv_days_dev.jsonl.xz) is served by a local server
speaking the arXiv API (tests/test_fetch.py's, pages of 100, no politeness wait: the figure is the
time beyond arXiv's waits) into a fresh library. The reader is the author with the most papers
before that day, whose earlier papers are stored and starred as the profile. Timed once each, in
one process: fetch + store, ``for_you`` over the day, and ``new_digest`` with the top N summarised
(the real default model; each line as the app's background run would write it). With
``--all-lines``, then every other line of the day, in for-you order, as the app's background run
writes them past its first ``digest_top`` (the greedy line).
"""

import argparse
import json
import lzma
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from rag import Library, Settings  # noqa: E402
from test_fetch import FakeArxiv  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "arxiv_days_dev.jsonl.xz"


def atom_entry(row: dict) -> str:
    from xml.sax.saxutils import escape

    authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in row["authors"])
    categories = "".join(f'<category term="{escape(c)}"/>' for c in row["categories"])
    return (f"<entry><id>http://arxiv.org/abs/{row['arxiv_id']}v1</id><published>{row['published']}T00:00:00Z"
            f"</published><title>{escape(row['title'])}</title><summary>{escape(row['abstract'])}</summary>"
            f'{authors}<link href="http://arxiv.org/abs/{row["arxiv_id"]}v1" rel="alternate"/>{categories}</entry>')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--all-lines", action="store_true",
                        help="then write every other line of the day as the app's background run does")
    args = parser.parse_args()
    rows = [json.loads(line) for line in lzma.open(CORPUS, "rt")]
    day = max(r["published"] for r in rows)
    today = [r for r in rows if r["published"] == day]
    before = [r for r in rows if r["published"] < day]
    reader, _ = Counter(a for r in before for a in r["authors"]).most_common(1)[0]
    theirs = [r for r in before if reader in r["authors"]]
    api = FakeArxiv()
    api.entries = [atom_entry(r) for r in today]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(arxiv_api=api.url, fetch_delay=0, background_summaries=False,
                                     digest_top=args.top)
        library = Library(Path(tmp) / "store", settings=settings)
        library.embedder.embed(["warm-up"])
        library.add([{k: r[k] for k in ("arxiv_id", "title", "abstract", "authors", "published", "categories")}
                     for r in theirs])
        library.star([f"arxiv:{r['arxiv_id']}" for r in theirs])
        started = time.perf_counter()
        fetched = library.fetch_arxiv(["cs.CV", "cs.CL", "cs.AI"], since=day)
        fetch_seconds = time.perf_counter() - started
        # As the app's warm-up and ``rag daily`` do while arXiv's waits pass: import the ranking's
        # word model (2.3 s once per process) before the first ranking.
        library.warm_up(model=False)
        started = time.perf_counter()
        picks = library.for_you()
        rank_seconds = time.perf_counter() - started
        library.llm().count_tokens("warm-up")  # the model load is start-up, not the digest
        started = time.perf_counter()
        digest, ids = library.new_digest()
        digest_seconds = time.perf_counter() - started
        rest = {}
        if args.all_lines:  # the top lines are made: the rest in for-you order, greedy, as in the app
            order = [pick.paper.id for pick in picks]
            started = time.perf_counter()
            made = library.summarize_pending(paper_ids=ids, prefer=lambda: order, full_lines=0)
            rest_seconds = time.perf_counter() - started
            rest = {"rest_lines": made, "rest_lines_s": round(rest_seconds, 1),
                    "per_rest_line_s": round(rest_seconds / max(1, made), 2),
                    "all_lines_s": round(digest_seconds + rest_seconds, 1)}
        print(json.dumps({
            "day": day, "papers": len(today), "stored": fetched.added, "requests": len(api.requests),
            "fetch_and_store_s": round(fetch_seconds, 1), "reader_papers": len(theirs),
            "ranked": len(picks), "rank_s": round(rank_seconds, 2),
            "top_lines": len(digest.items), "top_lines_s": round(digest_seconds, 1),
            "per_line_s": round(digest_seconds / max(1, len(digest.items)), 2), "in_digest": len(ids), **rest,
        }))
    api.server.shutdown()


if __name__ == "__main__":
    main()
