"""The Gradio app: Ask, Digest and Library tabs over one ``rag.Library`` (the only importer of gradio).

    rag app [--seeds] [--store DIR] [--host H] [--port P] [--auth user:password]
    python app.py ...            (the same, from a checkout)

This module only arranges the library's calls into components; the logic lives in the rest of ``rag``.
Named API endpoints for ``gradio_client``: ``/ask``, ``/digest``, ``/ingest`` (and ``/chat``,
the streaming chat itself).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline by construction

import gradio as gr  # noqa: E402

from .answer import Answer  # noqa: E402
from .background import SummaryWorker  # noqa: E402
from .errors import RagError  # noqa: E402
from .library import Library, Pick  # noqa: E402
from .loaders import SUFFIXES  # noqa: E402
from .settings import Settings, shipped  # noqa: E402

EXAMPLES = [
    "Which paper uses k-means cross-attention for segmentation?",
    "How long does it take to train BERT with large batch optimization?",
    "What do these abstracts say about fuzzing deep learning libraries?",
    "What memory budget does on-device training target?",
]
UPLOAD_TYPES = sorted(SUFFIXES)  # whatever the loaders read, and nothing else
# What the chat shows before the first token (bench/app_latency.py tells them from the answer).
SEARCHING, READING = "Searching the abstracts…", "Reading the abstracts…"
ANSWERING = "Answering; the answer is checked against its sources when it ends…"
PAPER_COLUMNS = ["id", "title", "published", "categories / source"]
PAGE_SIZE = 50  # papers per page of the Library table
NEWEST_DAY = "Newest day"
# One llama.cpp instance serves everyone: model calls share one queue slot and wait their turn.
MODEL_QUEUE: dict[str, Any] = dict(concurrency_limit=1, concurrency_id="model")
STORE_QUEUE: dict[str, Any] = dict(concurrency_limit=1, concurrency_id="store")
SHOWN_ANSWERS_KEPT = 256  # answers a follow-up can continue (~5 KB of prompt text each)
TODAY_REFRESH_SECONDS = 3.0  # how often the Today tab reads the lines written meanwhile
DIGEST_POLL_SECONDS = 1.0  # how often an open digest looks for lines the background run has written
# The digest table reads as prose, not code (Gradio's tables default to the monospace font).
CSS = (
    "#digest-table [role=gridcell], #digest-table [role=gridcell] *, #digest-table [role=columnheader] * "
    "{ font-family: var(--font) !important; }"
)


def message_text(content) -> str:
    """Gradio's message content (a string, or a list of typed parts) as plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    return " ".join(message_text(part) for part in content or [])


def chat_turns(history: list[dict]) -> list[tuple[str, str]]:
    """(question, answer) pairs from Gradio's OpenAI-style message history."""
    turns, question = [], None
    for message in history:
        if message["role"] == "user":
            question = message_text(message["content"])
        elif question is not None:
            turns.append((question, message_text(message["content"])))
            question = None
    return turns


def without_upload_dirs(text: str, paths: Sequence[str]) -> str:
    """Messages name uploads by the user's file name, not Gradio's temporary directory."""
    for path in paths:
        text = text.replace(str(Path(path).parent) + os.sep, "")
    return text


@contextlib.contextmanager
def user_errors(paths: Sequence[str] = ()):
    """Errors as the page shows them: a ``RagError`` says what was wrong (uploads named by the
    user's file name); anything else is a bug of ours, logged in full here, never shown raw."""
    try:
        yield
    except gr.Error:
        raise
    except RagError as exc:
        raise gr.Error(without_upload_dirs(str(exc), paths)) from exc
    except Exception as exc:
        logging.getLogger("rag.app").exception("unexpected error")
        raise gr.Error(
            f"Something went wrong on our side ({type(exc).__name__}). The server log has the details."
        ) from exc


def remove_uploads(paths: list[str]) -> None:
    """Delete Gradio's temporary copies of uploaded files once they are ingested (or refused)."""
    for path in paths:
        with contextlib.suppress(OSError):
            Path(path).unlink()


class App:
    """Event handlers: each turns component values into one library call and back."""

    def __init__(self, library: Library):
        self.library = library
        self.downloads = Path(tempfile.mkdtemp(prefix="rag-app-"))
        self.summaries = SummaryWorker(library)
        # The answers this app showed, by question and shown text: a follow-up passes the Answer
        # itself as history, so it continues that answer's conversation (which llama.cpp has read)
        # instead of re-reading it written out. Chat history from the browser is text only.
        self.shown: collections.OrderedDict[tuple[str, str], Answer] = collections.OrderedDict()
        self._today: tuple[tuple, list[Pick]] | None = None  # the Today tab's order, and what it is of
        self._today_lock = threading.Lock()
        self._background_started = False
        self._background_lock = threading.Lock()
        self._warming: threading.Thread | None = None

    # ----- Ask ---------------------------------------------------------------------------------

    def chat(
        self,
        message: str,
        history: list[dict],
        k: float,
        source: str | None,
        year: float | None,
        category: str | None = "",
    ):
        if not message.strip():
            raise gr.Error("Type a question first.")
        text = ""
        # Each stage is shown as it starts, so the wait before the first token is never a blank box.
        yield f"_{SEARCHING}_", f"_{SEARCHING}_"
        with user_errors():
            turns = [(q, self.shown.get((q, a), a)) for q, a in chat_turns(history)]
            stream = self.library.ask_stream(
                message,
                history=turns,
                k=int(k),
                source=source or None,
                year=int(year) if year else None,
                category=category or None,
            )
            yield f"_{READING}_", stream.reading_markdown()
            for piece in stream:
                text += piece
                yield text, f"_{ANSWERING}_"
            self._keep_shown(message, stream.answer)
            yield stream.answer.to_markdown(), stream.answer.sources_markdown()

    def _keep_shown(self, question: str, answer: Answer) -> None:
        self.shown[(question, answer.to_markdown())] = answer
        while len(self.shown) > SHOWN_ANSWERS_KEPT:
            self.shown.popitem(last=False)

    def ask(self, question: str, k: int = 0) -> dict:
        """Answer a question from the abstracts: text, abstained flag, reason, citations, timings."""
        with user_errors():
            answer = self.library.ask(question, k=k or None)
        data = answer.to_dict()
        data.pop("sources")
        return json.loads(json.dumps(data, default=str))

    # ----- Digest ------------------------------------------------------------------------------

    def _digest_ids(self, which: str, newest: float, query: str) -> list[str]:
        """The papers a digest covers: never the whole library (a summary costs seconds)."""
        if which == "Matching a search":
            if not query.strip():
                raise gr.Error("Type a search to pick papers by.")
            return [hit.paper_id for hit in self.library.search(query, k=int(newest) or 10)]
        if which == "Newest N":
            return [p.id for p in self.library.page(limit=max(1, int(newest or 10)))[0]]
        return [p.id for p in self.library.newest()]

    def _digest(self, which: str, newest: float, query: str, progress):
        return self.library.digest(self._digest_ids(which, newest, query), progress=progress)

    def make_digest(self, which: str, newest: float, query: str):
        """The lines made already at once, then the rest as the background run makes them
        (the papers this digest shows go first); the model stays free for questions meanwhile."""
        with user_errors():
            ids = self._digest_ids(which, newest, query)
            digest = self.library.digest(ids, wait=False)
            if digest.pending:
                self.summaries.want(ids)
                self.summaries.start()
            yield self._digest_outputs(digest)
            seen = None
            while digest.pending:
                running = (
                    self.summaries.running
                )  # read first: a run ending meanwhile is seen by the next read
                # The store is read (and a long digest re-clustered) only when a summary was written
                # since the last look, and once more after the run ends.
                if self.summaries.made != seen or not running:
                    seen, ready = self.summaries.made, len(digest.items)
                    digest = self.library.digest(ids, wait=False)
                    if len(digest.items) > ready:
                        yield self._digest_outputs(digest)
                if not running:
                    break
                time.sleep(DIGEST_POLL_SECONDS)
            if digest.pending:
                raise RagError(f"{digest.pending} summaries could not be made: {self.summaries.error}")

    def _digest_outputs(self, digest) -> tuple[list[list[str]], list[str], str]:
        rows = [
            [heading, item.title, item.text, f"[link]({item.url})" if item.url else ""]
            for heading, items in digest.sections()
            for item in items
        ]
        files = []
        for fmt in ("md", "html", "json"):
            path = self.downloads / f"digest.{fmt}"
            path.write_text(digest.render(fmt), encoding="utf-8")
            files.append(str(path))
        status = (
            f"{len(digest.items)} of {len(digest.items) + digest.pending} summaries ready; the rest "
            "appear here as they are written."
            if digest.pending
            else f"{len(digest.items)} summaries."
        )
        return rows, files, status

    def digest(self, newest: int = 0, query: str = "") -> dict:
        """One-line summaries of the newest day's papers, the newest N, or the papers matching a
        search."""
        which = "Matching a search" if query else "Newest N" if newest else NEWEST_DAY
        with user_errors():
            return json.loads(self._digest(which, newest, query, None).to_json())

    # ----- Today -------------------------------------------------------------------------------

    def today_rows(self) -> tuple[list[list[str]], str]:
        """The newest day's papers in the reader's order, with their lines as far as written; the
        missing lines are asked of the background run (these papers first)."""
        with user_errors():
            newest = self.library.newest()
            starred = {p.id for p in self.library.profile()}
            picks = self._today_order(newest, starred)
            lines = self.library.summaries_ready([p.paper.id for p in picks])
        missing = [p.paper.id for p in picks if p.paper.id not in lines]
        if missing and self.library.settings.background_summaries:
            self.summaries.want(missing)
            self.summaries.start()
        rows = [
            [
                "★" if p.paper.id in starred else "☆",
                f"[{p.paper.title}]({p.paper.url})" if p.paper.url else p.paper.title,
                lines.get(p.paper.id, "…"),
                "starred" if p.paper.id in starred else p.reason,
                p.paper.id,
            ]
            for p in picks
        ]
        day = self.library.newest_day() or "the newest papers"
        status = f"{len(picks)} papers of {day}; {len(picks) - len(missing)} lines written"
        return rows, status + (" (the rest fill in as they are written)." if missing else ".")

    def warm_up(self) -> None:
        """Once per app, in the background: open the vector index, import the ranking's word model
        and load the language model (``Library.warm_up``), so the first search, question and
        ranking do not wait for them. Started at the launch: mostly reading files, it delays the
        first page less than it would delay the first search after it (2.5 s at 80,000 papers)."""
        with self._background_lock:
            if self._warming is not None:
                return
            self._warming = threading.Thread(target=self._warm_up, name="warm-up", daemon=True)
        self._warming.start()

    def start_background(self) -> None:
        """Once per app: the warm-up if not yet started, then the newest papers' summaries.
        Started when the first page has loaded: the summaries keep both cores busy, and the
        first page should not compete with them."""
        self.warm_up()
        with self._background_lock:
            if self._background_started:
                return
            self._background_started = True
        if self.library.settings.background_summaries:
            self.summaries.start()

    def _warm_up(self) -> None:
        try:
            self.library.warm_up()
        except RagError as exc:  # shown again, to the user, by the first request that needs it
            logging.getLogger("rag.background").warning("warm-up failed: %s", exc)

    def _today_order(self, newest: list, starred: set[str]) -> list[Pick]:
        """The day's starred papers first, then the rest in the reader's order: ranked again only
        when the day's papers or the profile change (ranking reads every paper's vectors; the
        timer's ticks only need the lines written since)."""
        key = (tuple(p.id for p in newest), frozenset(starred))
        with self._today_lock:
            if self._today is None or self._today[0] != key:
                picks = [Pick(p, 0.0, None) for p in newest if p.id in starred]
                self._today = (key, picks + self.library.for_you([p.id for p in newest]))
            return self._today[1]

    def toggle_star(self, paper_id: str) -> tuple[list[list[str]], str]:
        paper_id = (paper_id or "").strip()
        if not paper_id:
            raise gr.Error("Select a paper in the table first.")
        with user_errors():
            if paper_id in {p.id for p in self.library.profile()}:
                self.library.unstar([paper_id])
            else:
                self.library.star([paper_id])
        return self.today_rows()

    # ----- Library -----------------------------------------------------------------------------

    def ingest(self, files: list[str] | None, skip_bad: bool, progress=gr.Progress()) -> str:
        if not files:
            raise gr.Error("Choose one or more files to ingest.")
        paths = [getattr(f, "name", f) for f in files]
        try:
            with user_errors(paths):
                summary = self.library.ingest(
                    paths,
                    skip_bad=skip_bad,
                    progress=lambda done, total: progress((done, total), desc="Ingesting", unit="papers"),
                )
        finally:
            remove_uploads(paths)
        if self.library.settings.background_summaries and summary.added + summary.updated:
            self.summaries.start()  # ready before the Digest tab is opened
        return without_upload_dirs(summary.report(), paths)

    def paper_rows(self, query: str = "", page: float | None = 1) -> tuple[list[list], str]:
        """One page of the library, newest first (or the papers best matching ``query``), and
        where the page is: a library of tens of thousands is never sent whole."""
        if query.strip():
            hits = self.library.search(query, k=PAGE_SIZE)
            found = {p.id: p for p in self.library.papers([h.paper_id for h in hits])}
            rows = [found[h.paper_id] for h in hits if h.paper_id in found]
            return [_row(p) for p in rows], f"{len(rows)} papers best matching the search"
        number = self.clamp_page(page)
        listed, total = self.library.page(offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        return [_row(p) for p in listed], f"Page {number} of {pages} · {total} papers, newest first"

    def clamp_page(self, page: float | None) -> int:
        pages = max(1, -(-self.library.count() // PAGE_SIZE))
        return min(max(1, int(page or 1)), pages)

    def delete(self, paper_id: str) -> str:
        paper_id = (paper_id or "").strip()
        if not paper_id:
            raise gr.Error("Select a paper in the table or type its id.")
        with user_errors():
            deleted = self.library.delete(paper_id)
        if not deleted:
            raise gr.Error(f"No paper with id {paper_id!r}.")
        return f"Deleted {paper_id}."

    def stats(self) -> str:
        s = self.library.stats()
        return (
            f"**{s.papers} papers**, {s.chunks} chunks · model `{s.model}` · embedder `{s.embedder}`"
            f" · store `{s.store_dir}`"
        )

    def filter_choices(self):
        """The filters' choices, read as distinct values from the catalogue (no paper is loaded)."""
        sources = self.library.choices("source")
        years = [str(y) for y in self.library.choices("year")]
        categories = self.library.choices("category")
        return (
            gr.Dropdown(choices=[""] + sources),
            gr.Dropdown(choices=[""] + years),
            gr.Dropdown(choices=[""] + categories),
        )


def _row(paper) -> list:
    return [paper.id, paper.title, paper.published, " ".join(paper.categories[:2]) or paper.source]


def ask_tab(app: App, settings: Settings):
    k = gr.Slider(1, 8, value=settings.answer_sources, step=1, label="Sources per answer", render=False)
    source = gr.Dropdown([""], value="", label="Only papers from file", allow_custom_value=True, render=False)
    year = gr.Dropdown([""], value="", label="Only papers from year", allow_custom_value=True, render=False)
    category = gr.Dropdown(
        [""], value="", label="Only papers in arXiv category", allow_custom_value=True, render=False
    )
    with gr.Row():
        with gr.Column(scale=3):
            sources = gr.Markdown("The answer's sources appear here.", elem_id="sources-panel", render=False)
            gr.ChatInterface(
                app.chat,
                additional_inputs=[k, source, year, category],
                additional_outputs=[sources],
                additional_inputs_accordion=gr.Accordion("Retrieval options", open=False, render=False),
                examples=[[q] for q in EXAMPLES],
                chatbot=gr.Chatbot(elem_id="answer-chat", height=460, render=False),
                textbox=gr.Textbox(
                    placeholder="Ask about the abstracts…", elem_id="question-box", render=False
                ),
                api_name="chat",
                fill_height=False,
                concurrency_limit=1,
            )
        with gr.Column(scale=2):
            sources.render()
    return source, year, category


def digest_tab(app: App) -> None:
    with gr.Row():
        which = gr.Radio([NEWEST_DAY, "Newest N", "Matching a search"], value=NEWEST_DAY, label="Papers")
        newest = gr.Number(10, precision=0, minimum=1, label="N (newest, or search results)")
        query = gr.Textbox(label="Search", placeholder="e.g. fuzzing deep learning libraries")
    run = gr.Button("Generate digest", variant="primary", elem_id="digest-button")
    status = gr.Markdown(elem_id="digest-status")
    table = gr.Dataframe(
        headers=["Topic", "Title", "One-line summary", "Link"],
        datatype=["markdown"] * 4,
        wrap=True,
        column_widths=["14%", "30%", "48%", "8%"],
        interactive=False,
        elem_id="digest-table",
    )
    files = gr.Files(label="Download (Markdown, HTML, JSON)", interactive=False, elem_id="digest-files")
    # Not in the model's queue: this only reads summaries the background run writes.
    run.click(
        app.make_digest,
        [which, newest, query],
        [table, files, status],
        api_visibility="undocumented",
        concurrency_limit=4,
        concurrency_id="digest",
    )


def today_tab(app: App) -> tuple[Any, Any]:
    status = gr.Markdown(elem_id="today-status")
    with gr.Row():
        selected = gr.Textbox(label="Selected paper id", elem_id="today-selected", scale=3)
        star = gr.Button("★ Star / unstar", elem_id="today-star", scale=1)
    table = gr.Dataframe(
        headers=["★", "Title", "One-line summary", "Why", "id"],
        datatype=["str", "markdown", "markdown", "str", "str"],
        wrap=True,
        column_widths=["5%", "32%", "41%", "14%", "8%"],
        interactive=False,
        elem_id="today-table",
    )
    listing: dict[str, Any] = dict(api_visibility="private", concurrency_limit=4, concurrency_id="listing")
    # Lines appear as the background run writes them: the table is read again every few seconds.
    gr.Timer(TODAY_REFRESH_SECONDS).tick(app.today_rows, None, [table, status], **listing)
    table.select(selected_today_id, None, selected, api_visibility="private")
    star.click(app.toggle_star, selected, [table, status], **listing)
    return table, status


def selected_today_id(evt: gr.SelectData) -> str:
    return str(evt.row_value[4])


def selected_paper_id(evt: gr.SelectData) -> str:
    return str(evt.row_value[0])


def library_tab(app: App, filters) -> tuple[Any, list]:
    stats = gr.Markdown(elem_id="library-stats")
    with gr.Row():
        with gr.Column():
            upload = gr.File(
                file_count="multiple", file_types=UPLOAD_TYPES, label="Files to ingest", elem_id="upload"
            )
            skip_bad = gr.Checkbox(label="Skip bad records (store the rest and list them)")
            ingest = gr.Button("Ingest", variant="primary", elem_id="ingest-button")
            report = gr.Markdown(elem_id="ingest-report")
        with gr.Column():
            query = gr.Textbox(label="Search papers", placeholder="blank: every paper, a page at a time")
            paper_id = gr.Textbox(label="Selected paper id")
            delete = gr.Button("Delete paper", variant="stop")
            deleted = gr.Markdown()
    with gr.Row():
        previous = gr.Button("← Newer", size="sm", elem_id="papers-newer")
        page = gr.Number(1, precision=0, minimum=1, label="Page", elem_id="papers-page")
        following = gr.Button("Older →", size="sm", elem_id="papers-older")
    where = gr.Markdown(elem_id="papers-where")
    table = gr.Dataframe(
        headers=PAPER_COLUMNS,
        datatype=["markdown"] * 4,
        interactive=False,
        wrap=True,
        column_widths=["20%", "50%", "12%", "18%"],
        elem_id="papers-table",
    )

    def refresh(q="", number=1):
        return *app.paper_rows(q, number), app.stats(), *app.filter_choices()

    def turn(q, number, step):
        number = app.clamp_page(int(number or 1) + step)
        return number, *app.paper_rows(q, number)

    outputs = [table, where, stats, *filters]
    ingest.click(app.ingest, [upload, skip_bad], report, api_name="ingest", **STORE_QUEUE).then(
        refresh, [query, page], outputs, api_visibility="private"
    )
    # Reads of the catalogue only: beside the model's and the store's queues, never behind them.
    listing: dict[str, Any] = dict(api_visibility="private", concurrency_limit=4, concurrency_id="listing")
    query.submit(app.paper_rows, [query, page], [table, where], **listing)
    page.submit(app.paper_rows, [query, page], [table, where], **listing)
    previous.click(lambda q, n: turn(q, n, -1), [query, page], [page, table, where], **listing)
    following.click(lambda q, n: turn(q, n, +1), [query, page], [page, table, where], **listing)
    table.select(selected_paper_id, None, paper_id, api_visibility="private")
    delete.click(app.delete, paper_id, deleted, api_visibility="private", **STORE_QUEUE).then(
        refresh, [query, page], outputs, api_visibility="private"
    )
    return refresh, outputs


def build_app(library: Library, app: App | None = None, background: bool = True) -> gr.Blocks:
    """The app's page; the warm-up and the background summaries start when a page is first
    loaded, or at once with ``background``."""
    app = app or App(library)
    if background:
        app.start_background()
    with gr.Blocks(title="Paper abstracts: ask, digest, library") as demo:
        gr.Markdown(
            "## Paper abstracts\nAnswers come only from the stored abstracts, with checked citations."
        )
        with gr.Tab("Ask", id="ask"):
            filters = ask_tab(app, library.settings)
        with gr.Tab("Today", id="today"):
            today = today_tab(app)
        with gr.Tab("Digest", id="digest"):
            digest_tab(app)
        with gr.Tab("Library", id="library"):
            refresh, outputs = library_tab(app, filters)
        gr.api(app.ask, api_name="ask", **MODEL_QUEUE)
        gr.api(app.digest, api_name="digest", **MODEL_QUEUE)
        demo.load(app.start_background, None, None, api_visibility="private")
        demo.load(refresh, None, outputs, api_visibility="private")
        demo.load(app.today_rows, None, list(today), api_visibility="private")
    return demo


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rag app", description="Ask, digest and manage research-paper abstracts."
    )
    parser.add_argument("--store", help="store directory (default: RAG_STORE_DIR or the user data dir)")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1, RAG_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860, RAG_PORT)")
    parser.add_argument("--auth", help="require a login, as user:password (RAG_AUTH)")
    parser.add_argument("--seeds", action="store_true", help="ingest the bundled seed abstracts first")
    return parser.parse_args(argv)


LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Seconds after the launch when the background work starts if no page has been loaded before.
BACKGROUND_AFTER = 20.0


def parse_auth(value: str) -> tuple[str, str] | None:
    """ "user:password" as Gradio's auth pair; an empty user or password is refused."""
    if not value:
        return None
    user, _, password = value.partition(":")
    if not user or not password:
        raise SystemExit("error: auth must be user:password, with a non-empty user and password")
    return user, password


def _report_background_work() -> None:
    """The background run's progress lines ("background summaries: 21 made") on stderr; other
    libraries' request logs stay off."""
    background = logging.getLogger("rag.background")
    if not background.handlers:  # once per process, however often the app is served
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        background.setLevel(logging.INFO)
        background.addHandler(handler)


def serve(argv=None, **launch_kwargs) -> gr.Blocks:
    """Build and launch the app from command-line arguments and ``RAG_*`` settings."""
    args = parse_args(argv)
    settings = Settings.from_env(store_dir=args.store, host=args.host, port=args.port, auth=args.auth)
    library = Library(settings=settings)
    _report_background_work()
    if args.seeds:
        print(library.ingest([shipped("seeds")]))
    auth = parse_auth(settings.auth)
    if auth is None and settings.host not in LOOPBACK:
        print(
            f"warning: serving on {settings.host} without a login; anyone who can reach this address "
            "can read and change the library (use --auth user:password)",
            file=sys.stderr,
        )
    app = App(library)
    demo = build_app(library, app, background=False).queue(default_concurrency_limit=1, max_size=100)
    block = not launch_kwargs.pop("prevent_thread_lock", False)
    demo.launch(
        prevent_thread_lock=True,
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        max_file_size=f"{settings.upload_max_mb}mb",
        show_error=True,
        ssr_mode=False,
        css=CSS,
        footer_links=["api"],
        **launch_kwargs,
    )
    app.warm_up()
    # Nobody has opened the page yet: the summaries start anyway, a little later.
    later = threading.Timer(BACKGROUND_AFTER, app.start_background)
    later.daemon = True
    later.start()
    if block:
        demo.block_thread()
    return demo


def main(argv=None) -> int:
    """Serve until interrupted; a library error ends it with a one-line message."""
    try:
        serve(argv)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
