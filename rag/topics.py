"""Topic summaries: what several retrieved abstracts say about a topic, each point cited.

Each relevant source gets its own one-sentence point from the model, checked against that
source before it is shown; a point that fails the check is replaced by the abstract's own
best-matching sentence, so every line of the summary is traceable to the paper it cites.
"""

from __future__ import annotations

import re
import time
from typing import Generator

from . import prompts
from .answer import Answer, Citation, Refusal
from .grounding import best_sentence, check_citations, content_terms, gate, without_instructions
from .paper import Paper
from .llm import LLM
from .qa import Similarities, refusal, trim_to_budget
from .retrieval import Hit
from .settings import Settings
from .summaries import clean_summary

_TOPIC_QUESTION = re.compile(
    r"^\s*(?:what\s+do\s+(?:these|the|my|our)\s+(?:abstracts|papers)\s+say\s+(?:about|on)"
    r"|summari[sz]e\s+what\s+(?:these|the)\s+(?:abstracts|papers)\s+say\s+(?:about|on)"
    r"|summari[sz]e\s+(?:the\s+)?(?:papers|abstracts|work|research)\s+(?:about|on)"
    r"|(?:give\s+(?:me\s+)?)?an?\s+overview\s+of)\s+(?P<topic>.+?)[\s?.!]*$", re.I)


def topic_of(question: str) -> str | None:
    """The topic of a "what do these abstracts say about X?" question, else None."""
    match = _TOPIC_QUESTION.match(question)
    return match.group("topic").strip() if match else None


def checked_point(point: str, topic: str, abstract: str, min_support: float) -> tuple[str, bool]:
    """The model's point when the abstract supports it, else the abstract's best sentence on the topic."""
    # The same check as an answer citing one source; a point with no terms of its own says nothing.
    grounded = bool(content_terms(point)) and \
        not check_citations(point, topic, [1], [abstract], min_support=min_support).refusal
    return (point, True) if grounded else (clean_summary(best_sentence(topic, abstract)), False)


def overview_stream(question: str, topic: str, hits: list[Hit], papers: dict[str, Paper], llm: LLM,
                    settings: Settings, started: float | None = None,
                    similarities: Similarities | None = None) -> Generator[str, None, Answer]:
    """Checked points as lines ("- point [n]"); returns the ``Answer`` with one citation per point."""
    started = started or time.perf_counter()
    timings = {"retrieve": round(time.perf_counter() - started, 3)}
    passages = [f"{h.title}\n{without_instructions(papers[h.paper_id].abstract)[0]}" for h in hits]
    closeness = similarities(topic, passages) if similarities else [h.dense_similarity for h in hits]
    relevant = [h for h, passage, similarity in zip(hits, passages, closeness)
                if gate(topic, [passage], similarity, min_relevance=settings.min_relevance,
                        min_coverage=settings.min_coverage).passed]
    if not relevant:
        timings["total"] = round(time.perf_counter() - started, 3)
        yield prompts.REFUSAL
        return refusal(question, Refusal.LOW_RELEVANCE, f"no retrieved abstract is about {topic!r}", hits, timings)
    lines, citations, replaced = [], [], []
    for number, hit in enumerate(relevant, 1):
        abstract = without_instructions(papers[hit.paper_id].abstract)[0]
        trimmed = trim_to_budget(abstract, topic, settings.lead_source_tokens, llm.count_tokens)
        messages = [{"role": "system", "content": prompts.TOPIC_SYSTEM},
                    {"role": "user", "content": prompts.topic_user_message(hit.title, trimmed, topic)}]
        raw = clean_summary(llm.complete(messages, max_tokens=settings.summary_max_tokens))
        point, grounded = checked_point(raw, topic, abstract, settings.min_support)
        if not grounded:
            replaced.append(number)
        line = f"- {point} [{number}]"
        timings.setdefault("first_token", round(time.perf_counter() - started, 3))
        yield ("\n" if lines else "") + line
        lines.append(line)
        citations.append(Citation(number=number, paper_id=hit.paper_id, title=hit.title, url=hit.url,
                                  sentence=best_sentence(point, abstract), score=hit.score))
    timings["total"] = round(time.perf_counter() - started, 3)
    reason = f"points {replaced} are quoted from the abstract: the model's sentence was unsupported" \
        if replaced else ""
    return Answer(question=question, text="\n".join(lines), citations=citations, reason=reason, sources=relevant,
                  timings=timings)
