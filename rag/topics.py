"""Topic summaries: what several retrieved abstracts say about a topic, each point cited.

Each relevant source gets its own one-sentence point from the model, checked against that
source before it is shown; a point that fails the check is replaced by the abstract's own
best-matching sentence, so every line of the summary is traceable to the paper it cites.
"""

from __future__ import annotations

import time
from collections.abc import Generator

from . import prompts
from .answer import Answer, Citation, Refusal
from .checks import check_citations, gate
from .llm import LLM, Options
from .qa import Similarities
from .settings import Settings
from .sources import Sources, trim_to_budget
from .summaries import clean_summary
from .text import best_sentence, content_terms


def checked_point(point: str, topic: str, abstract: str, min_support: float) -> tuple[str, bool]:
    """The model's point when the abstract supports it, else the abstract's best sentence on the topic."""
    # The same check as an answer citing one source; a point with no terms of its own says nothing.
    grounded = (
        bool(content_terms(point))
        and not check_citations(point, topic, [1], [abstract], min_support=min_support).refusal
    )
    return (point, True) if grounded else (clean_summary(best_sentence(topic, abstract)), False)


def on_topic(topic: str, sources: Sources, settings: Settings, similarities: Similarities | None) -> Sources:
    """The sources that pass the gate for the topic, each judged alone."""
    passages = sources.passages
    closeness = (
        similarities(topic, passages) if similarities else [h.dense_similarity or 0.0 for h in sources.hits]
    )
    return sources.only(
        [
            i
            for i, (passage, similarity) in enumerate(zip(passages, closeness))
            if gate(
                topic,
                [passage],
                similarity,
                min_relevance=settings.min_relevance,
                min_coverage=settings.min_coverage,
            ).passed
        ]
    )


def point_on(topic: str, title: str, abstract: str, llm: LLM, settings: Settings) -> str:
    """The model's one sentence on what this abstract says about the topic (unchecked)."""
    trimmed = trim_to_budget(abstract, topic, settings.lead_source_tokens, llm.count_tokens)
    messages = [
        {"role": "system", "content": prompts.TOPIC_SYSTEM},
        {"role": "user", "content": prompts.topic_user_message(title, trimmed, topic)},
    ]
    return clean_summary(llm.complete(messages, Options(max_tokens=settings.summary_max_tokens)))


def overview_stream(
    question: str,
    topic: str,
    sources: Sources,
    llm: LLM,
    settings: Settings,
    started: float | None = None,
    similarities: Similarities | None = None,
) -> Generator[str, None, Answer]:
    """Checked points as lines ("- point [n]"); returns the ``Answer`` with one citation per point."""
    started = started or time.perf_counter()
    timings = {"retrieve": round(time.perf_counter() - started, 3)}
    relevant = on_topic(topic, sources, settings, similarities)
    if not relevant.hits:
        timings["total"] = round(time.perf_counter() - started, 3)
        yield prompts.REFUSAL
        return Answer(
            question=question,
            text=prompts.REFUSAL,
            refusal=Refusal.LOW_RELEVANCE,
            reason=f"no retrieved abstract is about {topic!r}",
            sources=list(sources.hits),
            timings=timings,
        )
    lines: list[str] = []
    citations: list[Citation] = []
    replaced: list[int] = []
    for number, (hit, abstract) in enumerate(zip(relevant.hits, relevant.abstracts), 1):
        point, grounded = checked_point(
            point_on(topic, hit.title, abstract, llm, settings), topic, abstract, settings.min_support
        )
        if not grounded:
            replaced.append(number)
        line = f"- {point} [{number}]"
        timings.setdefault("first_token", round(time.perf_counter() - started, 3))
        yield ("\n" if lines else "") + line
        lines.append(line)
        citations.append(
            Citation(
                number=number,
                paper_id=hit.paper_id,
                title=hit.title,
                url=hit.url,
                sentence=best_sentence(point, abstract),
                score=hit.score,
            )
        )
    timings["total"] = round(time.perf_counter() - started, 3)
    reason = (
        f"points {replaced} are quoted from the abstract: the model's sentence was unsupported"
        if replaced
        else ""
    )
    return Answer(
        question=question,
        text="\n".join(lines),
        citations=citations,
        reason=reason,
        sources=list(relevant.hits),
        timings=timings,
    )
