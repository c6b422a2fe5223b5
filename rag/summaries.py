"""One-line TL;DRs grounded in their abstract, cached, and digests built from them."""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import prompts
from .grouping import Topic
from .grounding import content_terms, mentions, sentences, specific_terms, support, without_instructions
from .paper import Paper

if TYPE_CHECKING:
    from .catalog import Catalog
    from .llm import LLM

MAX_WORDS = 30


@dataclass(frozen=True)
class Summary:
    paper_id: str
    title: str
    url: str
    text: str
    grounded: bool  # False: the model's sentence named things the abstract does not, so an extract is shown
    cached: bool
    seconds: float


def cache_key(paper: Paper, model_name: str) -> str:
    return hashlib.sha256(f"{paper.content_hash}|{model_name}|{prompts.TLDR_PROMPT_VERSION}".encode()).hexdigest()


def clean_summary(raw: str) -> str:
    """First sentence, no label, at most MAX_WORDS words."""
    text = re.sub(r"^\s*(tl;?dr|summary|one-line summary)\s*[:\-]\s*", "", raw.strip(), flags=re.I)
    text = text.strip().strip('"').strip()
    first = sentences(text)[0] if sentences(text) else text
    words = first.split()
    if len(words) > MAX_WORDS:
        first = " ".join(words[:MAX_WORDS]).rstrip(",;:") + "…"
    return first


_SELF_REFERENCE = re.compile(r"^\W*(?:(?:this|the|our|in this|in the) (?:paper|work|study|article|letter)\b|we\b)", re.I)


def opens_with_self_reference(summary: str) -> bool:
    """"This paper ...", "The paper ...", "We ...": words a digest reader skips."""
    return bool(_SELF_REFERENCE.match(summary))


def title_share(summary: str, title: str) -> float:
    """The share of the summary's content words that are the title's (1.0: it restates the title)."""
    terms = content_terms(summary)
    return support(terms, title) if terms else 1.0


def first_sentence(pieces: Iterable[str]) -> str:
    """The generated text up to where its first sentence is complete (or longer than a summary
    may be): ``clean_summary`` keeps no more, so the model is not kept generating the rest."""
    text = ""
    for piece in pieces:
        text += piece
        if len(sentences(text)) > 1 or len(text.split()) > MAX_WORDS + 5:
            break
    return text


def is_grounded(summary: str, paper: Paper) -> bool:
    """Every name and number in the summary appears in the title or abstract (not counting
    sentences that address the reader, which the model never sees)."""
    source = f"{paper.title}\n{without_instructions(paper.abstract)[0]}"
    return bool(summary) and all(mentions(source, term) for term in specific_terms(summary))


def extractive_summary(paper: Paper) -> str:
    """The abstract sentence sharing most terms with the title: a safe fallback."""
    title_terms = content_terms(paper.title)
    abstract = without_instructions(paper.abstract)[0]
    parts = sentences(abstract) or [abstract]
    best = max(parts, key=lambda s: (len(title_terms & content_terms(s)), -parts.index(s)))
    return clean_summary(best)


def cached(paper: Paper, model_name: str, catalog: Catalog) -> Summary | None:
    """The paper's summary by this model if one was made before, else None."""
    hit = catalog.cached_summary(cache_key(paper, model_name))
    return Summary(paper.id, paper.title, paper.url, hit[0], hit[1], True, 0.0) if hit else None


def summarize(paper: Paper, llm: LLM, catalog: Catalog, max_tokens: int, background: bool = False) -> Summary:
    """The paper's one-line summary, from the cache or made now and cached (``background``: the
    model is taken only while no question waits for it)."""
    started = time.perf_counter()
    hit = cached(paper, llm.name, catalog)
    if hit:
        return hit
    key = cache_key(paper, llm.name)
    messages = [{"role": "system", "content": prompts.TLDR_SYSTEM},
                {"role": "user", "content": prompts.tldr_user_message(paper.title, without_instructions(paper.abstract)[0])}]
    with contextlib.closing(llm.stream(messages, max_tokens=max_tokens, background=background)) as pieces:
        text = clean_summary(first_sentence(pieces))
    grounded = is_grounded(text, paper)
    if not grounded:
        text = extractive_summary(paper)
    catalog.cache_summary(key, paper.id, text, grounded)
    return Summary(paper.id, paper.title, paper.url, text, grounded, False, time.perf_counter() - started)


@dataclass
class Digest:
    items: list[Summary]
    model: str
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    pending: int = 0  # papers asked for whose summaries are not made yet (a digest that does not wait)
    topics: list[Topic] = field(default_factory=list)  # headings for a long digest; empty: one list

    def sections(self) -> list[tuple[str, list[Summary]]]:
        """(heading, its lines) in reading order; a single untitled section without topics."""
        if not self.topics:
            return [("", self.items)]
        by_id = {item.paper_id: item for item in self.items}
        return [(topic.name, [by_id[i] for i in topic.paper_ids if i in by_id]) for topic in self.topics]

    @property
    def pending_note(self) -> str:
        return f"{self.pending} more papers are still being summarised." if self.pending else ""

    def to_markdown(self) -> str:
        lines = [f"# Paper digest ({len(self.items)} papers)", "", f"_{self.created}, model {self.model}_", ""]
        lines += [f"_{self.pending_note}_", ""] if self.pending else []
        for heading, items in self.sections():
            lines += [f"## {heading}", ""] if heading else []
            for item in items:
                title = f"[{item.title}]({item.url})" if item.url else item.title
                lines += [f"- **{title}**  ", f"  {item.text}"]
            lines += [""] if heading else []
        return "\n".join(lines).rstrip("\n") + "\n"

    def to_html(self) -> str:
        """Email-ready: one table, inline styles, no scripts or external resources."""
        rows = []
        for heading, items in self.sections():
            if heading:
                rows.append(f'<tr><td style="padding:16px 0 4px"><h2 style="font-size:16px;margin:0">'
                            f'{html.escape(heading)}</h2></td></tr>')
            rows += [self._html_row(item) for item in items]
        return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Paper digest</title></head>'
                '<body style="font-family:Arial,sans-serif;max-width:680px;margin:auto">'
                f'<h1 style="font-size:20px">Paper digest ({len(self.items)} papers)</h1>'
                f'<p style="color:#777;font-size:12px">{html.escape(self.created)}, model {html.escape(self.model)}'
                f'{" " + self.pending_note if self.pending else ""}</p>'
                f'<table style="width:100%;border-collapse:collapse">{"".join(rows)}</table></body></html>')

    @staticmethod
    def _html_row(item: Summary) -> str:
        title = html.escape(item.title)
        if item.url:
            title = f'<a href="{html.escape(item.url, quote=True)}" style="color:#1a56db">{title}</a>'
        return (f'<tr><td style="padding:8px 0;border-bottom:1px solid #eee">'
                f'<div style="font-weight:bold">{title}</div>'
                f'<div style="color:#333">{html.escape(item.text)}</div></td></tr>')

    def to_json(self) -> str:
        return json.dumps({"created": self.created, "model": self.model, "pending": self.pending,
                           "topics": [asdict(topic) for topic in self.topics],
                           "papers": [asdict(item) for item in self.items]}, indent=2, ensure_ascii=False)

    def render(self, fmt: str) -> str:
        renderers = {"md": self.to_markdown, "markdown": self.to_markdown, "html": self.to_html,
                     "json": self.to_json}
        if fmt not in renderers:
            from .errors import RagError

            raise RagError(f"unknown digest format {fmt!r}; use md, html or json")
        return renderers[fmt]()
