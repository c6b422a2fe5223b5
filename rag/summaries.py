"""One-line TL;DRs grounded in their abstract, cached, and digests built from them."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from . import prompts
from .checks import passage
from .grouping import Topic
from .injection import without_instructions
from .llm import Options
from .paper import Paper
from .text import content_terms, mentions, sentences, specific_terms, stem, support, words

if TYPE_CHECKING:
    from .catalog import Catalog
    from .llm import LLM
    from .settings import Settings

MAX_WORDS = 30
# How the line is chosen among the candidates (``consensus``): part of the cache key, like the prompt.
SELECTION = "mbr-title-abstract"


@dataclass(frozen=True)
class Method:
    """How a summary is made; part of its cache key, so changing it makes new summaries."""

    max_tokens: int
    candidates: int  # lines generated together: the greedy one and sampled ones; 1: greedy alone
    temperature: float  # of the sampled candidates

    @classmethod
    def from_settings(cls, settings: Settings) -> Method:
        return cls(settings.summary_max_tokens, settings.summary_candidates, settings.summary_temperature)

    def greedy(self) -> Method:
        """The greedy line alone: what the background writes beyond a day's first lines. On this
        machine 2.14 s a line against 2.97 s for four candidates (docs/benchmarks.md), at 1.3
        ROUGE-1 less and more lines that restate the title (SciTLDR dev)."""
        return replace(self, candidates=1)

    @property
    def tag(self) -> str:
        return f"{prompts.TLDR_PROMPT_VERSION}|{self.candidates}|{self.temperature}|{SELECTION}"


@dataclass(frozen=True)
class Summary:
    paper_id: str
    title: str
    url: str
    text: str
    grounded: bool  # False: the model's sentence named things the abstract does not, so an extract is shown
    cached: bool
    seconds: float


def cache_key(paper: Paper, model_name: str, method: Method) -> str:
    return hashlib.sha256(f"{paper.content_hash}|{model_name}|{method.tag}".encode()).hexdigest()


def clean_summary(raw: str) -> str:
    """First sentence, no label, at most MAX_WORDS words."""
    text = re.sub(r"^\s*(tl;?dr|summary|one-line summary)\s*[:\-]\s*", "", raw.strip(), flags=re.I)
    text = text.strip().strip('"').strip()
    first = sentences(text)[0] if sentences(text) else text
    words = first.split()
    if len(words) > MAX_WORDS:
        first = " ".join(words[:MAX_WORDS]).rstrip(",;:") + "…"
    return first


_SELF_REFERENCE = re.compile(
    r"^\W*(?:(?:this|the|our|in this|in the) (?:paper|work|study|article|letter)\b|we\b)", re.I
)


def opens_with_self_reference(summary: str) -> bool:
    """ "This paper ...", "The paper ...", "We ...": words a digest reader skips."""
    return bool(_SELF_REFERENCE.match(summary))


def title_share(summary: str, title: str) -> float:
    """The share of the summary's content words that are the title's (1.0: it restates the title)."""
    terms = content_terms(summary)
    return support(terms, title) if terms else 1.0


def sentence_complete(text: str) -> bool:
    """Whether the generated text holds a whole first sentence (or more words than a summary may
    have): ``clean_summary`` keeps no more, so the model need not generate the rest."""
    return len(sentences(text)) > 1 or len(text.split()) > MAX_WORDS + 5


_SELF_SUBJECT = re.compile(
    r"^\W*(?:(?:in )?(?:this|the|our) (?:paper|work|study|article|letter)\b\s*,?\s*(we\b)?"
    r"|(we|the authors)\b)\s*",
    re.I,
)
_ADVERBS = {"also", "further", "first", "then", "here", "now", "empirically", "theoretically", "formally"}
_NOT_ACTIONS = {
    "is",
    "was",
    "are",
    "were",
    "has",
    "have",
    "had",
    "can",
    "will",
    "would",
    "should",
    "may",
    "might",
}


def without_self_reference(line: str) -> str:
    """The line with its verb first instead of "This paper"/"We" ("We propose X" -> "Proposes X"),
    as digests write; unchanged when what follows is not an action ("This paper is ...")."""
    found = _SELF_SUBJECT.match(line)
    if found is None:
        return line
    rest = line[found.end() :].split(" ")
    lead = 0
    while lead < len(rest) - 1 and rest[lead].lower() in _ADVERBS:
        lead += 1
    if not rest or lead >= len(rest) - 1 or not rest[lead].isalpha() or rest[lead].lower() in _NOT_ACTIONS:
        return line
    if found.group(1) or found.group(2):  # a plural subject: "we propose" -> "proposes"
        rest[lead] = _third_person(rest[lead])
    text = " ".join(rest)
    return text[:1].upper() + text[1:]


def _third_person(verb: str) -> str:
    if verb.endswith("ed"):
        return verb
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def overlap(a: str, b: str) -> float:
    """Unigram F1 of the two texts' stemmed words (ROUGE-1's measure)."""
    first, second = Counter(map(stem, words(a))), Counter(map(stem, words(b)))
    common = sum((first & second).values())
    return 2 * common / (sum(first.values()) + sum(second.values())) if common else 0.0


def consensus(lines: list[str], eligible: list[bool], voters: Sequence[Sequence[str]] = ()) -> int:
    """The index of the eligible line sharing most words with all the others (minimum Bayes risk
    under unigram F1): what several samples agree on is more often what a reader wants than any
    single sample, greedy included. Each group of ``voters`` (the title; the abstract's
    sentences) votes too, with its text closest to the line: what the paper itself stresses
    weighs like one more sample. The first eligible one on a tie; -1 when none is eligible."""

    def score(i: int) -> float:
        votes = sum(overlap(lines[i], other) for j, other in enumerate(lines) if j != i)
        return votes + sum(max((overlap(lines[i], text) for text in group), default=0.0) for group in voters)

    scores = [score(i) if ok else -1.0 for i, ok in enumerate(eligible)]
    best = max(range(len(lines)), key=lambda i: (scores[i], -i), default=-1)
    return best if best >= 0 and eligible[best] else -1


def evidence(paper: Paper) -> list[list[str]]:
    """The texts that vote with the candidates in ``consensus``: the title, and the abstract's
    sentences (each line scored with the one it is closest to)."""
    abstract = without_instructions(paper.abstract)[0]
    return [[paper.title], sentences(abstract) or [abstract]]


def is_grounded(summary: str, paper: Paper) -> bool:
    """Every name and number in the summary appears in the title or abstract (not counting
    sentences that address the reader, which the model never sees)."""
    source = passage(paper.title, without_instructions(paper.abstract)[0])
    return bool(summary) and all(mentions(source, term) for term in specific_terms(summary))


def extractive_summary(paper: Paper) -> str:
    """The abstract sentence sharing most terms with the title: a safe fallback."""
    title_terms = content_terms(paper.title)
    abstract = without_instructions(paper.abstract)[0]
    parts = sentences(abstract) or [abstract]
    best = max(parts, key=lambda s: (len(title_terms & content_terms(s)), -parts.index(s)))
    return clean_summary(best)


def cached(paper: Paper, model_name: str, method: Method, catalog: Catalog) -> Summary | None:
    """The paper's summary by this model and method if one was made before, else its greedy line
    if the background wrote that (``Method.greedy``), else None."""
    for tried in dict.fromkeys([method, method.greedy()]):
        hit = catalog.cached_summary(cache_key(paper, model_name, tried))
        if hit:
            return Summary(paper.id, paper.title, paper.url, hit[0], hit[1], True, 0.0)
    return None


def summary_messages(paper: Paper) -> list[dict]:
    """The chat the model summarises the paper from (sentences addressing the reader left out)."""
    return [
        {"role": "system", "content": prompts.TLDR_SYSTEM},
        {
            "role": "user",
            "content": prompts.tldr_user_message(paper.title, without_instructions(paper.abstract)[0]),
        },
    ]


def summarize(paper: Paper, llm: LLM, catalog: Catalog, method: Method, background: bool = False) -> Summary:
    """The paper's one-line summary, from the cache or made now and cached (``background``: the
    model is taken only while no question waits for it).

    ``method.candidates`` lines are generated together and the grounded one most in agreement
    with the rest, the title and the abstract (``consensus``) is kept, preferring lines that say
    more than the title; with none grounded,
    the abstract sentence nearest the title. Either way the line starts with its verb, not
    "This paper"/"We"."""
    started = time.perf_counter()
    hit = cached(paper, llm.name, method, catalog)
    if hit:
        return hit
    options = Options(max_tokens=method.max_tokens, temperature=method.temperature, background=background)
    samples = llm.samples(
        summary_messages(paper), options, count=method.candidates, complete=sentence_complete
    )
    lines = [clean_summary(raw) for raw in samples]
    grounded = [is_grounded(line, paper) for line in lines]
    # A line that only restates the title tells a reader nothing the digest's heading does not.
    adds_to_title = [ok and title_share(line, paper.title) < 0.8 for line, ok in zip(lines, grounded)]
    chosen = consensus(lines, adds_to_title if any(adds_to_title) else grounded, evidence(paper))
    text = without_self_reference(lines[chosen] if chosen >= 0 else extractive_summary(paper))
    catalog.cache_summary(cache_key(paper, llm.name, method), paper.id, text, chosen >= 0)
    return Summary(paper.id, paper.title, paper.url, text, chosen >= 0, False, time.perf_counter() - started)


LATER_HEADING = "Also new (one-line summaries to come)"


@dataclass
class Digest:
    items: list[Summary]
    model: str
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    pending: int = 0  # papers asked for whose summaries are not made yet (a digest that does not wait)
    topics: list[Topic] = field(default_factory=list)  # headings for a long digest; empty: one list
    # (title, link) of papers listed after the summarised ones, whose lines are still to come.
    later: list[tuple[str, str]] = field(default_factory=list)
    # The catalogue's newest position when a new-papers digest was made: sending it covers the
    # papers stored up to there (``Library.send_digest``).
    up_to: int = 0

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
        lines = [
            f"# Paper digest ({len(self.items)} papers)",
            "",
            f"_{self.created}, model {self.model}_",
            "",
        ]
        lines += [f"_{self.pending_note}_", ""] if self.pending else []
        for heading, items in self.sections():
            lines += [f"## {heading}", ""] if heading else []
            for item in items:
                title = f"[{item.title}]({item.url})" if item.url else item.title
                lines += [f"- **{title}**  ", f"  {item.text}"]
            lines += [""] if heading else []
        if self.later:
            lines += ["", f"## {LATER_HEADING}", ""]
            lines += [f"- [{title}]({url})" if url else f"- {title}" for title, url in self.later]
        return "\n".join(lines).rstrip("\n") + "\n"

    def to_html(self) -> str:
        """Email-ready: one table, inline styles, no scripts or external resources."""
        rows = []
        for heading, items in self.sections():
            if heading:
                rows.append(
                    f'<tr><td style="padding:16px 0 4px"><h2 style="font-size:16px;margin:0">'
                    f"{html.escape(heading)}</h2></td></tr>"
                )
            rows += [self._html_row(item) for item in items]
        if self.later:
            rows.append(
                f'<tr><td style="padding:16px 0 4px"><h2 style="font-size:16px;margin:0">{LATER_HEADING}</h2>'
                "</td></tr>"
            )
            rows += [
                '<tr><td style="padding:4px 0">'
                + (
                    f'<a href="{html.escape(url, quote=True)}">{html.escape(title)}</a>'
                    if url
                    else html.escape(title)
                )
                + "</td></tr>"
                for title, url in self.later
            ]
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Paper digest</title></head>'
            '<body style="font-family:Arial,sans-serif;max-width:680px;margin:auto">'
            f'<h1 style="font-size:20px">Paper digest ({len(self.items)} papers)</h1>'
            f'<p style="color:#777;font-size:12px">{html.escape(self.created)}, '
            f"model {html.escape(self.model)}"
            f"{' ' + self.pending_note if self.pending else ''}</p>"
            f'<table style="width:100%;border-collapse:collapse">{"".join(rows)}</table></body></html>'
        )

    @staticmethod
    def _html_row(item: Summary) -> str:
        title = html.escape(item.title)
        if item.url:
            title = f'<a href="{html.escape(item.url, quote=True)}" style="color:#1a56db">{title}</a>'
        return (
            f'<tr><td style="padding:8px 0;border-bottom:1px solid #eee">'
            f'<div style="font-weight:bold">{title}</div>'
            f'<div style="color:#333">{html.escape(item.text)}</div></td></tr>'
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "created": self.created,
                "model": self.model,
                "pending": self.pending,
                "topics": [asdict(topic) for topic in self.topics],
                "papers": [asdict(item) for item in self.items],
                "later": [{"title": title, "url": url} for title, url in self.later],
            },
            indent=2,
            ensure_ascii=False,
        )

    def render(self, fmt: str) -> str:
        renderers = {
            "md": self.to_markdown,
            "markdown": self.to_markdown,
            "html": self.to_html,
            "json": self.to_json,
        }
        if fmt not in renderers:
            from .errors import RagError

            raise RagError(f"unknown digest format {fmt!r}; use md, html or json")
        return renderers[fmt]()
