"""``Library``: the public face of a store of abstracts."""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import foryou, planning, questions
from .answer import Answer, AnswerStream
from .catalog import Catalog
from .checks import holds_names
from .chunking import Chunker
from .embedder import Embedder, embedder_for
from .errors import InputError, RagError
from .filters import Filters
from .grouping import Topic
from .ingest import IngestSummary, Progress, ingest, refresh_metadata
from .llm import LLM
from .loaders import load_path
from .models import language_model
from .naming import names_paper, search_words
from .paper import Paper, check_size, day_number, paper_from_dict
from .planning import Plan, Turn
from .qa import answer_stream
from .questions import Kind, Question
from .retrieval import CROWD, Hit, SearchMode, search, standout
from .settings import Settings
from .sources import Sources, for_plan, lead_prefix, prepare
from .summaries import Digest, Method, Summary, cached, summarize
from .text import sentences
from .topics import overview_stream


@dataclass(frozen=True)
class Stats:
    papers: int
    chunks: int
    store_dir: Path
    embedder: str
    model: str  # the generation model's name or path, as configured


@dataclass(frozen=True)
class Pick:
    """A paper ranked for the reader: its score (comparable within one ranking) and the reader's
    paper it is closest to, as the reason (None without a profile)."""

    paper: Paper
    score: float
    closest: Paper | None

    @property
    def reason(self) -> str:
        return f"close to your paper {self.closest.title!r}" if self.closest else "newest"


@dataclass(frozen=True)
class Audit:
    papers: int
    incomplete_papers: int  # catalogued papers missing some of their vectors
    orphan_papers: int  # papers with vectors but no catalogue row
    duplicate_rows: int  # catalogue rows beyond one per id


class Library:
    """A persistent, searchable collection of paper abstracts.

    >>> lib = Library("/tmp/my-store")
    >>> lib.add([{"id": "p1", "title": "A title", "abstract": "Some abstract."}])
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        url: str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
    ):
        self.settings = settings or Settings.from_env()
        if path is not None:
            self.settings = dataclasses.replace(self.settings, store_dir=Path(path).expanduser())
        if url is not None:
            self.settings = dataclasses.replace(self.settings, chroma_url=url)
        self.embedder = embedder or embedder_for(self.settings)
        self._catalog = Catalog(self.settings.store_dir / "catalog.sqlite3")
        self._store: Any = None  # the VectorStore, opened on first use: Chroma's start-up is not free
        # One opening at a time: the app's warm-up and a first search may both ask for the store.
        self._store_lock = threading.Lock()
        # Per library, and holding the embedder rather than the library: a cache on the method
        # would keep every Library (and its SQLite connection) alive for the process's life.
        self._sentence_vectors = functools.lru_cache(maxsize=256)(
            functools.partial(_sentence_vectors, self.embedder)
        )

    @property
    def path(self) -> Path:
        return self.settings.store_dir

    @property
    def store(self):
        with self._store_lock:
            if self._store is None:
                self._store = self._open_store()
        return self._store

    def _open_store(self):
        from .store import VectorStore

        store = VectorStore(
            self.settings.store_dir / "chroma",
            self.settings.collection,
            self.embedder,
            url=self.settings.chroma_url or None,
            ef_search=self.settings.hnsw_ef_search,
        )
        if self._catalog.upgraded:  # vectors written before dates and categories were filterable
            refresh_metadata(self._catalog, store)
            self._catalog.upgraded = False
        return store

    def _chunker(self) -> Chunker:
        s = self.settings
        return Chunker(self.embedder.count_tokens, s.embed_max_tokens, s.chunk_tokens, s.chunk_overlap)

    def add(self, papers: Iterable[Paper | dict], progress: Progress | None = None) -> IngestSummary:
        """Store papers (``Paper``s or dicts with id/title/abstract); safe to repeat."""
        s = self.settings
        records = [
            check_size(_as_paper(item, f"item {i}"), s.max_title_chars, s.max_abstract_chars, "", f"item {i}")
            for i, item in enumerate(papers, 1)
        ]
        with self._writing():
            return ingest(
                records,
                catalog=self._catalog,
                store=self.store,
                chunker=self._chunker(),
                embedder=self.embedder,
                batch_papers=self.settings.ingest_batch_papers,
                progress=progress,
            )

    def _writing(self):
        """One writer at a time across processes sharing this store: another process's repair
        pass must not see this one's half-written ingest as orphaned vectors."""
        from filelock import FileLock

        self.path.mkdir(parents=True, exist_ok=True)
        return FileLock(self.path / "write.lock")

    def ingest(
        self,
        paths: Sequence[str | Path],
        skip_bad: bool = False,
        progress: Progress | None = None,
        mine: bool = False,
    ) -> IngestSummary:
        """Load files (any supported format) and store their papers; ``mine``: they are the
        reader's own library (an export of it), kept as the profile ``for_you`` ranks by.

        Every file is parsed before anything is written, so a bad record
        without ``skip_bad`` leaves the store exactly as it was.
        """
        papers, problems = [], []
        for path in paths:
            loaded = load_path(
                path,
                skip_bad=skip_bad,
                max_title_chars=self.settings.max_title_chars,
                max_abstract_chars=self.settings.max_abstract_chars,
            )
            papers += loaded.papers
            problems += loaded.problems
        summary = self.add(papers, progress=progress)
        summary.skipped = problems
        if mine:
            self._catalog.add_to_profile(self._catalog.resolve([p.id for p in papers]), "mine")
        return summary

    def star(self, paper_ids: Sequence[str]) -> None:
        """Add stored papers to the reader's profile (any id each was given)."""
        self._catalog.add_to_profile(self._stored_ids(paper_ids), "star")

    def unstar(self, paper_ids: Sequence[str]) -> int:
        """Take papers out of the reader's profile; how many were in it."""
        return self._catalog.remove_from_profile(self._catalog.resolve(list(paper_ids)))

    def profile(self) -> list[Paper]:
        """The reader's papers (starred and their own library), newest first."""
        return self._catalog.papers([paper_id for paper_id, _ in self._catalog.profile()])

    def _stored_ids(self, paper_ids: Sequence[str]) -> list[str]:
        ids = self._catalog.resolve(list(paper_ids))
        missing = sorted(set(ids) - set(self._catalog.states(ids)))
        if missing:
            raise RagError(f"no stored paper with id {', '.join(map(repr, missing))}")
        return ids

    def warm_up(self, model: bool = True) -> None:
        """Do now what the first search, ranking and (with ``model``) answer would wait for: open
        the vector index (Chroma loads it on the first query: seconds in a big library), import
        the ranking's word model and load the language model."""
        self.search("warm-up", k=1)
        foryou.prepare()
        if model:
            self.llm().count_tokens("warm-up")

    def for_you(self, paper_ids: Sequence[str] | None = None, k: int | None = None) -> list[Pick]:
        """``paper_ids`` (default: the papers no digest has sent, ``unsent``) in the reader's order,
        closest to their profile first, each with its score and the profile paper it is closest
        to; the first ``k``. Without a profile, newest first with no score."""
        ids = list(paper_ids) if paper_ids is not None else self.unsent()
        candidates = self._catalog.papers(ids) if ids else []
        profile = self.profile()
        mine = {p.id for p in profile}
        candidates = [p for p in candidates if p.id not in mine]
        if not profile or not candidates:
            return [Pick(p, 0.0, None) for p in candidates][:k]
        vectors = self.store.paper_vectors([p.id for p in candidates + profile])
        candidates = [p for p in candidates if p.id in vectors]
        profile = [p for p in profile if p.id in vectors]
        scores, nearest = foryou.rank(
            [f"{p.title}\n\n{p.abstract}" for p in candidates],
            np.stack([vectors[p.id] for p in candidates]),
            [f"{p.title}\n\n{p.abstract}" for p in profile],
            np.stack([vectors[p.id] for p in profile]),
        )
        picks = [Pick(p, float(score), profile[n]) for p, score, n in zip(candidates, scores, nearest)]
        return sorted(picks, key=lambda pick: -pick.score)[:k]

    def fetch_arxiv(
        self,
        categories: Sequence[str],
        *,
        since: str | None = None,
        days: int | None = None,
        most: int | None = None,
        progress: Progress | None = None,
    ) -> IngestSummary:
        """Fetch the papers of arXiv ``categories`` submitted since ``since`` (ISO date; default:
        the last ``days`` days, 1) from the arXiv API (``settings.arxiv_api``) and store them, with
        their categories, dates, authors and links; safe to repeat (a newer version replaces)."""
        from datetime import date, timedelta

        from .fetch import Politeness, arxiv_papers

        s = self.settings
        first = since or (date.today() - timedelta(days=days or 1)).isoformat()
        Filters(since=first)  # a clear error for a date that is not one, before any request
        politeness = Politeness(s.fetch_delay, s.fetch_retries, s.llm_timeout, s.fetch_page_size)
        papers = arxiv_papers(s.arxiv_api, categories, first, most=most, politeness=politeness)
        return self.add(papers, progress=progress)

    def fetch_hf_daily(self, day: str | None = None, progress: Progress | None = None) -> IngestSummary:
        """Fetch Hugging Face's daily papers list for ``day`` (ISO date; default today, UTC) from
        ``settings.hf_api`` and store its papers (arXiv ids, so a paper fetched from arXiv too is
        stored once)."""
        from datetime import datetime, timezone

        from .fetch import Politeness, hf_daily_papers

        s = self.settings
        day = day or datetime.now(timezone.utc).date().isoformat()
        Filters(since=day)  # a clear error for a date that is not one, before any request
        politeness = Politeness(s.fetch_delay, s.fetch_retries, s.llm_timeout, s.fetch_page_size)
        return self.add(hf_daily_papers(s.hf_api, day, politeness=politeness), progress=progress)

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        source: str | None = None,
        year: int | None = None,
        author: str | None = None,
        category: str | None = None,
        since: str | None = None,
        until: str | None = None,
        mode: SearchMode = "hybrid",
        within: Sequence[str] | None = None,
        filters: Filters | None = None,
    ) -> list[Hit]:
        """The ``k`` papers best matching ``query``, best first, each with its best chunk; only
        among the papers ``within`` names, when given, and those the filters allow: a source, a
        year, an author, an arXiv ``category`` and a range of days (``since``/``until``, ISO dates,
        inclusive), given one by one or as one ``Filters``."""
        if not query.strip():
            raise RagError("empty search query")
        filters = filters or Filters(source, year, author, category, since, until)
        return search(
            self._catalog,
            self.store,
            query,
            k,
            self._catalog.resolve(list(within)) if within is not None else None,
            filters,
            mode=mode,
            candidates=self.settings.candidates,
            rrf_k=self.settings.rrf_k,
            keyword_max_share=self.settings.keyword_max_share,
        )

    # ----- generation -------------------------------------------------------------------------

    def llm(self, model: str | None = None, fmt: str | None = None) -> LLM:
        """The shared model for ``model`` (default: settings) in quantisation format ``fmt``
        (default: ``model_format``): the model server's when ``llm_url`` is set, else the
        in-process GGUF, loaded on first use."""
        return language_model(self.settings, model, fmt)

    def verdict_llm(self) -> LLM | None:
        """The model that decides yes/no verdicts: ``settings.verdict_model`` in process; over a
        model server (``llm_url``) the server's own model (``llm_model``), since a catalogue
        name means nothing to it; None when the answer model decides them."""
        s = self.settings
        if s.llm_url:
            return self.llm()
        return self.llm(s.verdict_model, s.verdict_model_format) if s.verdict_model else None

    def ask_stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        k: int | None = None,
        source: str | None = None,
        year: int | None = None,
        model: str | None = None,
        category: str | None = None,
    ) -> AnswerStream:
        """The answer's text as it is generated; the stream's ``answer`` is the checked ``Answer``.

        A topic question ("what do these abstracts say about X?") gets a topic summary:
        one checked, cited point per relevant paper.

        ``history`` is the chat so far as (question, answer) pairs. An answer given as the
        ``Answer`` this library returned, rather than its text, lets a follow-up on the same
        sources continue that answer's conversation, which the model has already read, so it
        starts answering sooner (``qa.continued_conversation``).
        """
        started = time.perf_counter()
        asked = questions.read(question)
        filters = Filters(source=source, year=year, category=category)
        if asked.kind is Kind.TOPIC and asked.topic:
            hits = self.search(asked.topic, k=k or self.settings.topic_sources, filters=filters)
            sources = prepare(hits, self._papers_of(hits))
            return AnswerStream(
                overview_stream(
                    question,
                    asked.topic,
                    sources,
                    self.llm(model),
                    self.settings,
                    started,
                    self.sentence_similarities,
                ),
                hits,
            )
        searched: dict[str, list[Hit]] = {}
        plan = self._plan(asked, history, k, filters, searched)
        sources = self.sources(plan)
        # How far a yes/no question's closest paper stands out from the library's near it: a
        # verdict needs the paper the question is about, not the best of a near-topic crowd.
        crowd = asked.kind is Kind.YES_NO and not plan.named
        if crowd and plan.query not in searched:
            searched[plan.query] = self.search(plan.query, k=CROWD, filters=filters)
        # A k above CROWD searches deeper; the crowd is still the closest CROWD papers.
        standing = standout(searched[plan.query][:CROWD]) if crowd else None
        # Resolved only for a yes/no question's verdict, or an open one's second opinion.
        needed = asked.kind is Kind.YES_NO or self.settings.second_opinion
        verdict_llm = self.verdict_llm() if needed else None
        # Shown while the model reads: what an open answer reads, or every source for a verdict.
        shown = sources.read.hits
        return AnswerStream(
            answer_stream(
                plan,
                sources,
                self.llm(model),
                self.settings,
                started,
                self.sentence_similarities,
                verdict_llm,
                standing,
            ),
            shown,
        )

    def plan(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        k: int | None = None,
        source: str | None = None,
        year: int | None = None,
        category: str | None = None,
    ) -> Plan:
        """How ``question`` will be answered: what kind it is, the query searched, and its sources
        (a follow-up about the previous turn's paper keeps that turn's sources; ``planning``)."""
        filters = Filters(source=source, year=year, category=category)
        return self._plan(questions.read(question), history, k, filters, searched={})

    def _plan(
        self,
        asked: Question,
        history: Sequence[Turn],
        k: int | None,
        filters: Filters,
        searched: dict[str, list[Hit]],
    ) -> Plan:
        """The question's plan; each whole-library search made is kept in ``searched`` by query.
        A yes/no question's searches reach ``CROWD`` papers, the crowd its closest paper is
        measured against (``standout``), so that is not searched again: the best ``k`` are the
        first of them (the candidates fused, ``settings.candidates`` a retriever, do not depend on
        ``k``)."""
        n = k or self.settings.answer_sources
        depth = max(n, CROWD) if asked.kind is Kind.YES_NO else n

        def search(query: str, within: list[str] | None) -> list[Hit]:
            hits = self.search(query, k=depth, within=within, filters=filters)
            if within is None:
                searched[query] = hits
            return hits[:n]

        return planning.plan(asked, history, search, self.named_papers)

    def sources(self, plan: Plan) -> Sources:
        """The plan's sources as the checks read them, and (``.read``) the ones the model is given
        (``rag.sources``)."""
        return for_plan(plan, self._papers_of(list(plan.hits)))

    def named_papers(self, question: str) -> list[str]:
        """Ids of the stored papers the question names by a quoted or written-out title, or by a
        title's lead name (``rag.naming``): its answer comes from them alone. None when several are
        named and none mentions every name the question uses (``checks.holds_names``)."""
        candidates = self._catalog.titles_with(search_words(question))
        named = [paper_id for paper_id, title in candidates if names_paper(question, title)]
        # A name several titles share names none of the papers meant when none of them mentions
        # the question's other names ("Can PRISM predict length of PICU stay?" over arXiv's
        # "PRISM: ..." papers): then the whole library is searched, and the gate still asks for
        # every name, the title's too. A name one paper has is that paper: a question asking it
        # for what it never mentions ("What does LEAP reach on COCO?") is refused as about it.
        if len(named) < 2:
            return named
        papers = self._catalog.papers(named)
        return named if any(holds_names(question, f"{p.title}\n{p.abstract}") for p in papers) else []

    def sentence_similarities(self, query: str, texts: Sequence[str]) -> list[float]:
        """For each text, the cosine similarity of its sentence (or title line) closest to ``query``.

        The gate judges answerability by this rather than by the retrieved chunk: a short question
        ("How much power does the controller consume?") is close to the one sentence that answers
        it ("The mean power consumption ... is 45.4 mW") but far from the whole chunk around it.
        """
        query_vector = self.embedder.embed([query])[0]
        return [float((self._sentence_vectors(text) @ query_vector).max()) for text in texts]

    def _papers_of(self, hits: list[Hit]) -> dict[str, Paper]:
        return {p.id: p for p in self._catalog.papers([h.paper_id for h in hits])} if hits else {}

    def ask(self, question: str, **kwargs) -> Answer:
        """The checked answer: ``ask_stream`` run to its end."""
        return self.ask_stream(question, **kwargs).result()

    def summarize(self, paper_id: str, *, model: str | None = None) -> Summary:
        return summarize(
            self.get(paper_id), self.llm(model), self._catalog, Method.from_settings(self.settings)
        )

    def digest(
        self,
        paper_ids: Sequence[str] | None = None,
        *,
        newest: int | None = None,
        model: str | None = None,
        progress: Progress | None = None,
        wait: bool = True,
    ) -> Digest:
        """One-line summaries of the given papers (default: the ``newest`` N, else the newest
        day's, ``Library.newest``). Without ``wait``, only the summaries made already (instant),
        and how many are still pending."""
        if paper_ids:  # in the order given (a ranking's, a search's)
            stored = {p.id: p for p in self._catalog.papers(list(paper_ids))}
            papers = [stored[i] for i in dict.fromkeys(self._catalog.resolve(list(paper_ids))) if i in stored]
        else:
            papers = self._catalog.page(limit=newest)[0] if newest else self.newest()
        llm, method = (
            self.llm(model),
            Method.from_settings(self.settings),
        )  # resolved once, not for every paper
        if not wait:
            ready = [found for paper in papers if (found := cached(paper, llm.name, method, self._catalog))]
            return Digest(ready, llm.name, pending=len(papers) - len(ready), topics=self._topics(ready))
        items = []
        for done, paper in enumerate(papers, 1):
            items.append(summarize(paper, llm, self._catalog, method))
            if progress:
                progress(done, len(papers))
        return Digest(items, llm.name, topics=self._topics(items))

    def summaries_ready(self, paper_ids: Sequence[str], *, model: str | None = None) -> dict[str, str]:
        """The one-line summaries already made of these papers, by id (instant: nothing is made)."""
        llm, method = self.llm(model), Method.from_settings(self.settings)
        found = (cached(p, llm.name, method, self._catalog) for p in self._catalog.papers(list(paper_ids)))
        return {s.paper_id: s.text for s in found if s is not None}

    def unsent(self) -> list[str]:
        """Ids of the papers no digest has sent: those stored since the last digest sent was made
        (before any was sent, the newest day's), newest first."""
        ids = self._catalog.unsent_since_last_digest()
        if ids is None:
            # The whole newest day, however many papers it has: the next digest starts after it.
            day = self._catalog.newest_day()
            whole_day = (
                self._catalog.page(Filters(since=day, until=day), limit=1_000_000)[0]
                if day_number(day)
                else []
            )
            newest = [p.id for p in whole_day or self.newest()]
            ids = [i for i in newest if i not in self._catalog.sent_ids(newest)] if newest else []
        return ids

    def new_digest(
        self, *, top: int | None = None, model: str | None = None, progress: Progress | None = None
    ) -> tuple[Digest, list[str]]:
        """The digest of the papers stored since the last digest sent (before any was sent: the
        newest day's), never one sent before; in the reader's order (``for_you``) when they have a
        profile, else newest first. The first ``top`` (default ``settings.digest_top``) are
        summarised now; the rest are listed by title. Returns it and the ids of every paper in it."""
        up_to = self._catalog.position()
        ids = self.unsent()
        order = [pick.paper.id for pick in self.for_you(ids)] if ids else []
        head = order[: top or self.settings.digest_top]
        digest = (
            self.digest(head, model=model, progress=progress) if head else Digest([], self.llm(model).name)
        )
        later = {p.id: p for p in self._catalog.papers(order[len(head) :])} if len(order) > len(head) else {}
        digest.later = [(later[i].title, later[i].url) for i in order[len(head) :] if i in later]
        digest.up_to = up_to
        return digest, order

    def send_digest(self, digest: Digest, paper_ids: Sequence[str], to: str) -> None:
        """Email ``digest`` to ``to`` through ``settings.smtp_url`` and only then mark its papers
        sent: a failed send marks nothing, and no paper is sent twice."""
        from .mail import message, send

        s = self.settings
        if not s.smtp_url:
            raise RagError("set RAG_SMTP_URL (smtp://host:port or smtps://host:port) to send digests")
        subject = f"Paper digest: {len(paper_ids)} new papers"
        mail = message(s.smtp_from, to, subject, digest.render("md"), digest.render("html"))
        send(mail, s.smtp_url, s.smtp_user, s.smtp_password, timeout=s.llm_timeout)
        self._catalog.mark_sent(list(paper_ids), to, digest.up_to)

    def _topics(self, items: list[Summary]) -> list[Topic]:
        """Topic headings for a digest of more than ``digest_topics_over`` papers (else none)."""
        if len(items) <= self.settings.digest_topics_over:
            return []
        import numpy as np

        from .grouping import topics

        vectors = self.store.paper_vectors([item.paper_id for item in items])
        items = [item for item in items if item.paper_id in vectors]  # a paper deleted meanwhile
        if len(items) <= self.settings.digest_topics_over:
            return []
        return topics(
            [item.paper_id for item in items],
            [item.title for item in items],
            [item.text for item in items],
            np.stack([vectors[item.paper_id] for item in items]),
        )

    def summarize_pending(
        self,
        *,
        model: str | None = None,
        progress: Progress | None = None,
        background: bool = True,
        prefer: Callable[[], Iterable[str]] | None = None,
        paper_ids: Sequence[str] | None = None,
        full_lines: int | None = None,
    ) -> int:
        """Summarise the papers that have no summary yet, one at a time, and return how many were
        made: ``paper_ids``, else the ones a reader is shown first (``newest``), never the whole
        library unasked. Each is cached on disk as it is made: a killed run loses nothing and a
        re-run resumes. In the ``background`` each waits while a question waits for the model.
        ``prefer()``, asked before each paper, names papers to do first (the ones an open digest
        is waiting for), even outside that set. With ``full_lines``, only that many get every
        candidate (``summary_candidates``) and the rest their greedy line: a day's tail in the
        time left."""
        llm, method = self.llm(model), Method.from_settings(self.settings)
        papers = self._catalog.papers(list(paper_ids)) if paper_ids is not None else self.newest()
        pending = {p.id: p for p in papers if not cached(p, llm.name, method, self._catalog)}
        made, looked_up = 0, set(pending)
        while True:
            wanted = [i for i in (prefer() if prefer else ()) if i not in looked_up]
            for paper in self._catalog.papers(wanted) if wanted else []:
                if not cached(paper, llm.name, method, self._catalog):
                    pending = {paper.id: paper, **pending}
            looked_up.update(wanted)
            chosen = next(
                (i for i in (prefer() if prefer else ()) if i in pending), next(iter(pending), None)
            )
            if chosen is None:
                return made
            full = full_lines is None or made < full_lines
            summarize(
                pending.pop(chosen),
                llm,
                self._catalog,
                method if full else method.greedy(),
                background=background,
            )
            made += 1
            if progress:
                progress(made, made + len(pending))

    def newest(self, limit: int | None = None) -> list[Paper]:
        """The papers a reader is shown first: the newest day's (in a library without dates, the
        newest stored), at most ``limit`` (default ``settings.newest_papers``)."""
        day = self._catalog.newest_day()
        filters = Filters(since=day, until=day) if day_number(day) else Filters()
        return self._catalog.page(filters, limit=limit or self.settings.newest_papers)[0]

    def read_ahead(self, *, model: str | None = None, background: bool = True) -> int:
        """Read the newest ``settings.read_ahead_papers`` papers ahead of any question, as a
        question's best source is read (``qa.lead_prefix``), keeping their states in the model's
        prompt cache; return how many were read now (a paper already held is skipped, so a re-run
        costs nothing). A first question whose best source is one of them then starts where that
        reading ended. In the ``background`` each waits while a question waits for the model."""
        llm, made = self.llm(model), 0
        for paper in self._catalog.page(limit=self.settings.read_ahead_papers)[0]:
            made += llm.read_ahead(lead_prefix(paper, self.settings, llm.count_tokens), background=background)
        return made

    def papers(self, paper_ids: Sequence[str] | None = None) -> list[Paper]:
        """The stored papers ``paper_ids`` names (any id each was given), else every stored paper;
        newest first (a large library: ``page``)."""
        return self._catalog.papers(list(paper_ids) if paper_ids is not None else None)

    def page(
        self, filters: Filters | None = None, *, offset: int = 0, limit: int = 50, title: str = ""
    ) -> tuple[list[Paper], int]:
        """One page of the papers ``filters`` allows whose title contains ``title``, newest first,
        and how many there are in all."""
        return self._catalog.page(filters or Filters(), offset=offset, limit=limit, title=title)

    def choices(self, field: str) -> list:
        """The stored values of ``field`` ("source", "year", "category"; categories most used
        first), read from the catalogue without loading any paper."""
        return self._catalog.distinct(field)

    def newest_day(self) -> str:
        """The date of the newest stored paper ("" when none is dated)."""
        return self._catalog.newest_day()

    def get(self, paper_id: str) -> Paper:
        found = self._catalog.papers([paper_id])
        if not found:
            raise RagError(f"no paper with id {paper_id!r}")
        return found[0]

    def delete(self, paper_id: str) -> bool:
        """Remove a paper's vectors, then its row (``paper_id`` may be any id it was given);
        returns whether it existed."""
        paper_id = self._catalog.resolve([paper_id])[0]
        with self._writing():
            self.store.delete_papers([paper_id])
            return self._catalog.delete([paper_id]) > 0

    def count(self) -> int:
        """How many papers are stored."""
        return self._catalog.count()

    def stats(self) -> Stats:
        return Stats(
            papers=self._catalog.count(),
            chunks=self._catalog.chunk_count(),
            store_dir=self.path,
            embedder=self.embedder.name,
            model=self.settings.model,
        )

    def audit(self) -> Audit:
        """Whether the catalogue and the vectors describe the same chunks (after any ingest, even
        one killed midway and re-run, every count but ``papers`` is 0)."""
        states, chunks = self._catalog.states(), self.store.chunk_ids_by_paper()
        incomplete = sum(
            1
            for paper_id, state in states.items()
            if {f"{paper_id}#{state.content_hash[:8]}#{i}" for i in range(state.n_chunks)}
            - chunks.get(paper_id, set())
        )
        return Audit(
            papers=len(states),
            incomplete_papers=incomplete,
            orphan_papers=sum(1 for paper_id in chunks if paper_id not in states),
            duplicate_rows=self._catalog.duplicate_rows(),
        )

    def close(self) -> None:
        self._catalog.close()


def _sentence_vectors(embedder: Embedder, text: str):
    """The embeddings of a source's title line and sentences, kept for the next question about
    the same source (a follow-up, another user's question on the same paper)."""
    parts = [line for part in text.split("\n") for line in sentences(part)] or [text]
    return embedder.embed(parts)


def _as_paper(item: Paper | dict, record: str) -> Paper:
    if isinstance(item, Paper):
        return item
    ids = ("id", "paper_id", "arxiv_id", "doi", "pmid")
    if isinstance(item, dict) and not any(str(item.get(key) or "").strip() for key in ids):
        raise InputError("missing id (id, arxiv_id, doi or pmid)", record=record)
    return paper_from_dict(item, source="api", record=record)
