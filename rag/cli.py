"""The ``rag`` command line. Errors become one readable line and exit code 1."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict

from . import prompts
from .errors import RagError


def _add_day_filters(p) -> None:
    p.add_argument("--category", help="only papers in this arXiv category (cs.CL)")
    p.add_argument("--since", help="only papers from this day on (YYYY-MM-DD, inclusive)")
    p.add_argument("--until", help="only papers up to this day (YYYY-MM-DD, inclusive)")


@contextmanager
def _progress_bar(desc: str):
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr (off when not a terminal)."""
    from tqdm import tqdm

    with tqdm(total=0, desc=desc, unit="paper", file=sys.stderr, disable=None) as bar:

        def update(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        yield update


def _library(args):
    from .library import Library

    return Library(args.store)


def cmd_ingest(args) -> int:
    library = _library(args)
    with _progress_bar("ingesting") as progress:
        summary = library.ingest(args.paths, skip_bad=args.skip_bad, progress=progress, mine=args.mine)
    for problem in summary.skipped:
        print(f"skipped {problem}", file=sys.stderr)
    print(summary)
    if args.summarize:
        _summarize_pending(library, args.model)
    return 0


def _summarize_pending(library, model: str | None, paper_ids=None) -> None:
    with _progress_bar("summarising") as progress:
        made = library.summarize_pending(
            model=model, progress=progress, background=False, paper_ids=paper_ids
        )
    print(f"summarised {made} papers; the others' summaries were made before", file=sys.stderr)


def cmd_search(args) -> int:
    hits = _library(args).search(args.query, k=args.k, filters=_filters(args))
    if args.json:
        print(json.dumps([asdict(h) for h in hits], indent=2))
        return 0
    for rank, hit in enumerate(hits, 1):
        print(f"{rank}. {hit.title}  [{hit.paper_id}]  score {hit.score:.4f}")
        print(f"   {hit.text[:200]}{'…' if len(hit.text) > 200 else ''}")
    if not hits:
        print("no matching papers")
    return 0


def _filters(args):
    from .filters import Filters

    return Filters(
        source=getattr(args, "source", None),
        year=getattr(args, "year", None),
        author=getattr(args, "author", None),
        category=getattr(args, "category", None),
        since=getattr(args, "since", None),
        until=getattr(args, "until", None),
    )


def cmd_star(args) -> int:
    library = _library(args)
    if args.command == "star":
        library.star(args.ids)
        print(f"starred {len(args.ids)}; the profile holds {len(library.profile())} papers")
    else:
        print(f"unstarred {library.unstar(args.ids)}; the profile holds {len(library.profile())} papers")
    return 0


def cmd_for_you(args) -> int:
    picks = _library(args).for_you(k=args.k)
    if args.json:
        print(
            json.dumps([{**p.paper.to_dict(), "score": p.score, "reason": p.reason} for p in picks], indent=2)
        )
        return 0
    for rank, pick in enumerate(picks, 1):
        print(f"{rank}. {pick.paper.title}  [{pick.paper.id}]  {pick.score:.2f}  ({pick.reason})")
    return 0


def cmd_fetch(args) -> int:
    library = _library(args)
    with _progress_bar("storing") as progress:
        if args.feed == "hf-daily":
            summary = library.fetch_hf_daily(args.date, progress=progress)
        else:
            if not args.category:
                raise RagError("rag fetch arxiv needs at least one --category (cs.CL)")
            summary = library.fetch_arxiv(
                args.category, since=args.since, days=args.days, most=args.max, progress=progress
            )
    print(summary)
    return 0


def cmd_papers(args) -> int:
    if args.page < 1 or args.limit < 1:
        raise RagError("--page and --limit count from 1")
    offset = (args.page - 1) * args.limit
    papers, total = _library(args).page(
        _filters(args), offset=offset, limit=args.limit, title=args.title or ""
    )
    if args.json:
        print(json.dumps([p.to_dict() for p in papers], indent=2))
        return 0
    for paper in papers:
        print(f"{paper.id}\t{paper.published or '-'}\t{' '.join(paper.categories[:1]) or '-'}\t{paper.title}")
    pages = max(1, -(-total // args.limit))
    shown = f"{offset + 1}-{offset + len(papers)}" if papers else "none"
    print(f"papers {shown} of {total} (page {args.page} of {pages}; --page N for more)", file=sys.stderr)
    return 0


def cmd_delete(args) -> int:
    if not _library(args).delete(args.id):
        raise RagError(f"no paper with id {args.id!r}")
    print(f"deleted {args.id}")
    return 0


DEMO_QUERIES = [
    "Which paper uses k-means cross-attention for segmentation?",
    "How can deep learning libraries be fuzzed?",
    "training BERT with large batches",
]


def cmd_app(args) -> int:
    from . import app  # gradio is imported only when the app is asked for

    return app.main((["--store", args.store] if args.store else []) + args.app_args)


def cmd_demo(args) -> int:
    """Ingest the bundled seed abstracts and show a few searches over them."""
    from .settings import shipped

    args.paths, args.skip_bad, args.summarize, args.mine = [str(shipped("seeds"))], False, False, False
    cmd_ingest(args)
    library = _library(args)
    print(f"store: {library.path}")
    for query in DEMO_QUERIES:
        print(f"\n> {query}")
        for rank, hit in enumerate(library.search(query, k=3), 1):
            print(f"  {rank}. {hit.title}  (score {hit.score:.4f})")
    for question in (DEMO_QUERIES[0], "What is the capital of France?"):
        print(f"\n? {question}")
        answer = library.ask(question)
        print(f"  {answer.text}")
        for citation in answer.citations:
            print(f"  [{citation.number}] {citation.title}")
        if answer.abstained:
            print(f"  ({answer.reason})")
    return 0


def cmd_ask(args) -> int:
    stream = _library(args).ask_stream(
        args.question, k=args.k, source=args.source, year=args.year, model=args.model, category=args.category
    )
    streamed = ""
    # What the model reads is known before it answers: shown at once, on stderr (stdout is the answer).
    print(
        "reading: "
        + ("; ".join(f"[{n}] {h.title}" for n, h in enumerate(stream.sources, 1)) or "nothing matched"),
        file=sys.stderr,
        flush=True,
    )
    # With --json, stdout is the JSON alone: the answer streams to stderr meanwhile, so a slow
    # machine shows progress instead of silence.
    out = sys.stderr if args.json else sys.stdout
    for piece in stream:
        streamed += piece
        print(piece, end="", flush=True, file=out)
    answer = stream.answer
    # after a second opinion's note, the larger model's answer is the one being completed
    latest = streamed.rsplit(prompts.RECONSIDERING, 1)[-1].strip()
    if not answer.abstained and answer.text.startswith(latest):
        print(answer.text[len(latest) :], end="", file=out)  # the evidence a bare answer gets
    if args.json:
        print(file=sys.stderr)
        print(json.dumps(answer.to_dict(), indent=2, default=str))
        return 0
    print()
    if answer.verdict:
        print(f"  verdict: {answer.verdict}")
    if answer.refusal and answer.refusal.withdrawn:
        print(f"[{answer.reason}]\n{answer.text}")
    for citation in answer.citations:
        link = f" <{citation.url}>" if citation.url else ""
        print(f'  [{citation.number}] {citation.title}{link}\n      "{citation.sentence}"')
    if answer.abstained:
        print(f"  ({answer.reason})", file=sys.stderr)
    return 0


def cmd_summarize(args) -> int:
    library = _library(args)
    ids = [p.id for p in library.papers()] if args.all else args.ids
    if args.all:  # resumable: each summary is cached as it is made, a re-run makes only the rest
        _summarize_pending(library, args.model, ids)
    if not ids:
        raise RagError("give paper ids or --all")
    summaries = [library.summarize(paper_id, model=args.model) for paper_id in ids]
    if args.json:
        print(json.dumps([asdict(s) for s in summaries], indent=2, ensure_ascii=False))
    for summary in summaries if not args.json else []:
        print(f"{summary.title}\n  {summary.text}")
    return 0


def cmd_digest(args) -> int:
    if args.new:
        return _new_digest(args)
    if args.email:
        raise RagError("--email sends new papers only: use it with --new")
    with _progress_bar("summarising") as progress:
        digest = _library(args).digest(
            args.ids or None, newest=args.limit, model=args.model, progress=progress
        )
    text = digest.render(args.format)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {len(digest.items)} summaries to {args.output}")
    else:
        print(text)
    return 0


def _new_digest(args) -> int:
    library = _library(args)
    with _progress_bar("summarising") as progress:
        digest, ids = library.new_digest(top=args.limit, model=args.model, progress=progress)
    if not ids:
        print("nothing new since the last digest sent; nothing sent", file=sys.stderr)
        return 0
    if args.email:
        library.send_digest(digest, ids, args.email)
        print(f"sent {len(ids)} papers ({len(digest.items)} summarised) to {args.email}")
    elif args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(digest.render(args.format))
        print(f"wrote {len(ids)} papers to {args.output} (not sent: nothing is marked sent)")
    else:
        print(digest.render(args.format))
    return 0


def cmd_daily(args) -> int:
    """Fetch the configured categories' new papers, then make and send (or print) the digest of
    everything new: for cron or a systemd timer (docs/daily.md)."""
    library = _library(args)
    s = library.settings
    categories = [c.strip() for c in s.daily_categories.split(",") if c.strip()]
    # The index, the ranking's word model and the language model load during arXiv's waits.
    warming = threading.Thread(target=_warm_up, args=(library,), daemon=True)
    warming.start()
    if categories:
        print(f"fetched: {library.fetch_arxiv(categories, days=args.days)}", file=sys.stderr)
    args.new, args.email, args.limit = True, s.daily_email or None, None
    args.output, args.format, args.model = None, "md", None
    warming.join()
    return _new_digest(args)


def _warm_up(library) -> None:
    try:
        library.warm_up()
    except RagError:  # the step that needs what failed to load reports it
        pass


def cmd_models(args) -> int:
    from . import models
    from .settings import Settings

    settings = Settings.from_env()
    active, cache = settings.model, settings.model_cache_dir
    if args.action == "download":
        spec = models.spec_named(args.name or active)
        print(f"downloaded {models.download_from_hub(spec, cache)}")
        return 0
    formats = {settings.verdict_model: settings.verdict_model_format, active: settings.model_format}
    for name, spec in models.catalog().items():
        cached = cache / spec.file
        state = "assembled" if cached.is_file() else "not assembled"
        fmt = (formats.get(name) or spec.quantisation).upper()
        if args.action in ("assemble", "verify") and (args.name in (None, name)):
            try:
                verify = args.action == "verify"
                models.converted(spec, models.ensure_assembled(spec, cache, force_verify=verify), fmt, verify)
                state = "verified"
            except RagError as exc:
                state = f"unavailable: {exc}"
        mark = "*" if name == active else " "
        print(
            f"{mark} {name}  {(spec.size or 0) / 1e6:.0f} MB  {spec.chat_format}  ctx {spec.context}  "
            f"runs as {fmt}  [{state}]"
        )
        print(f"    {spec.description}")
    if active not in models.catalog():
        print(f"* {active} (local file)")
    return 0


def cmd_eval_generation(args) -> int:
    from . import evaluation

    suites: dict[str, Callable[..., dict]] = {
        "qa": evaluation.evaluate_qa,
        "tldr": evaluation.evaluate_tldr,
        "abstention": evaluation.evaluate_abstention,
        "factoid": evaluation.evaluate_factoid,
        "traps": evaluation.evaluate_traps,
    }
    run = suites[args.suite]
    extra: dict = {"details": args.details} if args.details else {}
    if getattr(args, "distractors", None):
        extra["distractors"] = evaluation.Distractors.of(args.distractors, args.distractor_store)
    if args.suite == "factoid":
        extra["corpus"] = args.corpus
    with _progress_bar(args.suite) as progress:
        report = run(args.data, limit=args.limit, model=args.model, progress=progress, **extra)
    print(json.dumps(report, indent=2) if args.json else _report_lines(report))
    return 0


def _report_lines(report: dict, indent: str = "") -> str:
    """A report for reading: one "name: value" line per figure, nested figures indented."""
    lines = []
    for key, value in report.items():
        if isinstance(value, dict) and value:
            lines += [f"{indent}{key.replace('_', ' ')}:", _report_lines(value, indent + "  ")]
        else:
            lines.append(f"{indent}{key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def cmd_eval_for_you(args) -> int:
    from .chunking import Chunker
    from .embedder import embedder_for
    from .foryou_eval import evaluate_for_you
    from .ingest import paper_vectors
    from .settings import Settings

    s = Settings.from_env()
    embedder = embedder_for(s)
    chunker = Chunker(embedder.count_tokens, s.embed_max_tokens, s.chunk_tokens, s.chunk_overlap)
    with _progress_bar("ranking") as progress:
        report = evaluate_for_you(
            args.data, lambda papers: paper_vectors(papers, chunker, embedder), progress
        )
    print(json.dumps(report, indent=2) if args.json else _report_lines(report))
    return 0


def cmd_eval_retrieval(args) -> int:
    from .evaluation import evaluate_retrieval

    with _progress_bar("indexing") as progress:
        report = evaluate_retrieval(args.data, limit=args.limit, progress=progress)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{report['questions']} questions over {report['papers']} abstracts "
        f"(indexed in {report['ingest_seconds']}s)"
    )
    print(f"{'mode':<8} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6} {'median ms':>10}")
    for row in report["modes"]:
        print(
            f"{row['mode']:<8} {row['recall_at_1']:6.3f} {row['recall_at_5']:6.3f} "
            f"{row['recall_at_10']:6.3f} {row['mrr']:6.3f} {row['median_ms']:10.1f}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Search and question research abstracts offline."
    )
    parser.add_argument("--store", help="store directory (default: RAG_STORE_DIR or the user data dir)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add papers from files (txt digest, jsonl/json, csv, bib, arXiv xml)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--skip-bad", action="store_true", help="ingest the good records, report the bad")
    p.add_argument("--mine", action="store_true", help="your own library's export: kept as your profile")
    p.add_argument(
        "--summarize",
        action="store_true",
        help="then make the one-line summaries the newest day's papers lack (resumable; "
        "`rag summarize --all` for every paper)",
    )
    p.add_argument("--model", help="model for --summarize (default: RAG_MODEL)")
    p.set_defaults(run=cmd_ingest)

    p = sub.add_parser("search", help="hybrid (dense + BM25) search")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--source")
    p.add_argument("--year", type=int)
    p.add_argument("--author")
    _add_day_filters(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_search)

    for name, text in (("star", "add papers to your profile"), ("unstar", "take papers out of your profile")):
        p = sub.add_parser(name, help=text)
        p.add_argument("ids", nargs="+")
        p.set_defaults(run=cmd_star)

    p = sub.add_parser("for-you", help="the newest day's papers, closest to your profile first")
    p.add_argument("-k", type=int, help="only the first K")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_for_you)

    p = sub.add_parser("fetch", help="fetch new papers from the arXiv API and store them")
    p.add_argument("feed", choices=["arxiv", "hf-daily"])
    p.add_argument("--category", action="append", help="arxiv: an arXiv category (repeatable)")
    p.add_argument("--date", help="hf-daily: the day's list (YYYY-MM-DD; default today)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--since", help="papers submitted on or after this day (YYYY-MM-DD)")
    when.add_argument("--days", type=int, help="papers of the last N days (default 1)")
    p.add_argument("--max", type=int, help="at most N papers")
    p.set_defaults(run=cmd_fetch)

    p = sub.add_parser("papers", help="list stored papers, newest first, a page at a time")
    p.add_argument("--source")
    p.add_argument("--year", type=int)
    p.add_argument("--author")
    p.add_argument("--title", help="only papers whose title contains this text")
    _add_day_filters(p)
    p.add_argument("--page", type=int, default=1, help="page number, from 1")
    p.add_argument("--limit", type=int, default=50, help="papers per page")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_papers)

    p = sub.add_parser("delete", help="delete a paper by id")
    p.add_argument("id")
    p.set_defaults(run=cmd_delete)

    p = sub.add_parser("ask", help="answer a question from the abstracts, with citations")
    p.add_argument("question")
    p.add_argument("-k", type=int, help="number of sources")
    p.add_argument("--source")
    p.add_argument("--year", type=int)
    p.add_argument("--model", help="catalogue name or GGUF path (default: RAG_MODEL)")
    p.add_argument("--category", help="only papers in this arXiv category (cs.CL)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("summarize", help="one-line TL;DRs of papers")
    p.add_argument("ids", nargs="*")
    p.add_argument("--all", action="store_true")
    p.add_argument("--model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_summarize)

    p = sub.add_parser("digest", help="a digest of one-line summaries")
    p.add_argument("ids", nargs="*", help="paper ids (default: the newest day's papers)")
    p.add_argument(
        "--limit", type=int, help="the newest N papers instead (with --new: how many to summarise)"
    )
    p.add_argument(
        "--new", action="store_true", help="the papers stored since the last digest sent, for you first"
    )
    p.add_argument(
        "--email", metavar="ADDR", help="with --new: send it (RAG_SMTP_URL) and mark its papers sent"
    )
    p.add_argument("--format", choices=["md", "html", "json"], default="md")
    p.add_argument("-o", "--output")
    p.add_argument("--model")
    p.set_defaults(run=cmd_digest)

    p = sub.add_parser(
        "daily", help="fetch (RAG_DAILY_CATEGORIES), then mail the new digest (RAG_DAILY_EMAIL)"
    )
    p.add_argument("--days", type=int, default=2, help="fetch papers of the last N days (default 2)")
    p.set_defaults(run=cmd_daily)

    p = sub.add_parser("models", help="list models; assemble or verify the bundled ones")
    p.add_argument("action", nargs="?", choices=["list", "assemble", "verify", "download"], default="list")
    p.add_argument("name", nargs="?")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser(
        "app",
        help="serve the Gradio app (options: --seeds --host --port --auth; see rag app -h)",
        add_help=False,
    )
    p.set_defaults(run=cmd_app)

    p = sub.add_parser("demo", help="ingest the seed abstracts and run example searches")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("eval", help="evaluation harness")
    eval_sub = p.add_subparsers(dest="suite", required=True)
    e = eval_sub.add_parser("retrieval", help="recall@k and MRR on a PubMedQA-format file")
    e.add_argument("--data", required=True)
    e.add_argument("--limit", type=int)
    e.add_argument("--json", action="store_true")
    e.set_defaults(run=cmd_eval_retrieval)
    e = eval_sub.add_parser(
        "for-you", help="recall@10 and MRR of the for-you ranking on a day-stamped corpus"
    )
    e.add_argument("--data", required=True, help="JSONL (plain or .xz) in the arXiv corpus's shape")
    e.add_argument("--json", action="store_true")
    e.set_defaults(run=cmd_eval_for_you)
    for suite, text in (
        ("qa", "yes/no/maybe accuracy and citation precision"),
        ("abstention", "refusals on absent abstracts, answers on present ones"),
        ("tldr", "ROUGE of one-line summaries against SciTLDR references"),
        ("factoid", "answer spans, citations and refusals on factoid questions"),
        ("traps", "refusals of relation traps (needs --distractors: their papers)"),
    ):
        e = eval_sub.add_parser(suite, help=text)
        e.add_argument("--data", required=True)
        e.add_argument("--limit", type=int)
        e.add_argument("--model")
        e.add_argument("--json", action="store_true", help="print the report as JSON")
        e.add_argument("--details", metavar="FILE", help="write one JSON line per question (paper) to FILE")
        if suite == "factoid":
            e.add_argument("--corpus", required=True, help="the SciTLDR-format jsonl the questions are about")
        if suite in ("qa", "abstention", "factoid", "traps"):
            e.add_argument(
                "--distractors",
                metavar="FILE",
                help="papers stored beside the evaluation's own (e.g. the arXiv corpus .jsonl.xz); "
                "ingested once, then reused",
            )
            e.add_argument(
                "--distractor-store",
                metavar="DIR",
                help="where the distractors' store is kept (default: one per file in the cache dir)",
            )
        e.set_defaults(run=cmd_eval_generation, suite=suite, details=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # The app parses its own options (rag.app.parse_args): everything after "app" is passed on.
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "app":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.app_args = rest
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to finish safely", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
