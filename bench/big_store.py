"""Build (or finish) a library of the real arXiv corpus, once, for the scale benches to reuse.

    python bench/big_store.py --store /work/big40k                 # the 40,717 dev abstracts
    python bench/big_store.py --store /work/big80k --copies 2      # + a synthetic second year

The second copy is the same corpus under new ids, a year later, its titles marked "[year 2]"
(otherwise the ingest would rightly merge each paper with its twin): a synthetic second year,
whose search cost is what a real one's would be, not its content.

Reported (one JSON line): papers stored, seconds, papers/s of the ingest, the raw embedder's rate
on the chunks of a sample of the same papers (the bound: the pipeline's rate over it is its
efficiency), and the process's peak RSS. Re-run on a finished store, it only checks it (0 added).
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library, load_path  # noqa: E402
from rag.paper import Paper  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "arxiv_days_dev.jsonl.xz"


def corpus_papers(path: Path, copies: int) -> list[Paper]:
    papers = load_path(path).papers
    out = list(papers)
    for copy in range(2, copies + 1):
        out += [second_year(p, copy) for p in papers]
    return out


def second_year(paper: Paper, copy: int) -> Paper:
    year = int(paper.published[:4]) + copy - 1
    return Paper(
        id=f"y{copy}-{paper.id}",
        title=f"{paper.title} [year {copy}]",
        abstract=paper.abstract,
        authors=paper.authors,
        url=paper.url,
        published=f"{year}{paper.published[4:]}",
        source=f"synthetic-year-{copy}",
        categories=paper.categories,
    )


def raw_embedder_rate(library: Library, papers: list[Paper], sample: int = 400) -> float:
    """Papers/s of the embedder alone on the chunks of ``sample`` papers (nothing stored)."""
    chunker = library._chunker()
    texts = [c.embedding_text for p in papers[:sample] for c in chunker.chunks(p)]
    started = time.perf_counter()
    library.embedder.embed(texts)
    return sample / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--corpus", default=str(CORPUS))
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--limit", type=int, help="only the first N papers (a quick run)")
    args = parser.parse_args()
    papers = corpus_papers(Path(args.corpus), args.copies)[: args.limit]
    library = Library(args.store)
    library.embedder.embed(["warm-up"])  # model load is start-up, not ingest
    bound = raw_embedder_rate(library, papers)
    from tqdm import tqdm

    with tqdm(total=len(papers), unit="paper", file=sys.stderr, mininterval=5) as bar:

        def progress(done: int, total: int) -> None:
            bar.n = done
            bar.refresh()

        started = time.perf_counter()
        summary = library.add(papers, progress=progress)
        seconds = time.perf_counter() - started
    embedded = summary.added + summary.updated
    report = {
        "papers_given": len(papers),
        "added": summary.added,
        "unchanged": summary.unchanged,
        "seconds": round(seconds, 1),
        "papers_per_s": round(embedded / seconds, 1) if embedded else None,
        "raw_embedder_papers_per_s": round(bound, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "stored": library.stats().papers,
        "chunks": library.stats().chunks,
        "embedder": library.embedder.name,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
