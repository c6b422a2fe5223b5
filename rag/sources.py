"""A question's sources, prepared once: the abstracts as the model and the checks read them.

Sentences that address the reader (a prompt injection) are taken out; each source is judged
under its title, so a name from a title ("kMaX-DeepLab") counts as grounded; an open question
reads only the sources on the question. The same hits and focus always give the same text,
token for token, which is what lets llama.cpp reuse a prompt's opening.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import prompts
from .checks import on_question, passage
from .injection import without_instructions
from .paper import Paper
from .planning import Plan
from .questions import Kind
from .retrieval import Hit
from .settings import Settings
from .text import content_terms, sentences

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class Sources:
    hits: tuple[Hit, ...]
    abstracts: tuple[str, ...]  # without sentences addressed to the reader
    flagged: tuple[int, ...]  # 1-based numbers of the sources that had such sentences
    # 0-based indexes of the sources the model reads (``prepare``'s focus); None: all of them
    focused: tuple[int, ...] | None = None

    @property
    def read(self) -> Sources:
        """The sources the model is given: those on the focus they were prepared for."""
        return self if self.focused is None else self.only(self.focused)

    @property
    def passages(self) -> list[str]:
        """Each source under its title: the text the gate and the checks judge."""
        return [passage(h.title, a) for h, a in zip(self.hits, self.abstracts)]

    def only(self, indexes: Sequence[int]) -> Sources:
        """These sources alone (0-based indexes), renumbered from 1."""
        flagged = tuple(n for n, i in enumerate(indexes, 1) if i + 1 in self.flagged)
        return Sources(
            tuple(self.hits[i] for i in indexes), tuple(self.abstracts[i] for i in indexes), flagged
        )


def prepare(hits: Sequence[Hit], papers: dict[str, Paper], focus: str | None = None) -> Sources:
    """The hits' abstracts cleaned, once. With a ``focus`` (an open question), the model will
    read only the sources sharing at least half as many of its terms as the best one
    (``checks.on_question``): an answer resting on the others would be about another paper, so
    the model is not given them, and reads less before its first word."""
    cleaned = [without_instructions(papers[h.paper_id].abstract) for h in hits]
    sources = Sources(
        tuple(hits),
        tuple(text for text, _ in cleaned),
        tuple(n for n, (_, removed) in enumerate(cleaned, 1) if removed),
    )
    if focus is None:
        return sources
    return dataclasses.replace(sources, focused=tuple(on_question(focus, sources.passages)))


def for_plan(plan: Plan, papers: dict[str, Paper]) -> Sources:
    """The plan's sources; an open question's model reads those on its focus, a yes/no
    question's verdict chooses among all of them."""
    focus = plan.focus if plan.question.kind is Kind.OPEN else None
    return prepare(plan.hits, papers, focus)


def trim_to_budget(text: str, question: str, budget: int, count_tokens: CountTokens) -> str:
    """The source's most question-relevant sentences, in their original order, within ``budget`` tokens."""
    if count_tokens(text) <= budget:
        return text
    terms = content_terms(question)
    parts = sentences(text)
    ranked = sorted(range(len(parts)), key=lambda i: (-len(terms & content_terms(parts[i])), i))
    chosen, used = [], 0
    for i in ranked:
        cost = count_tokens(parts[i])
        if used + cost <= budget:
            chosen.append(i)
            used += cost
    return " ".join(parts[i] for i in sorted(chosen)) or parts[ranked[0]][: budget * 3]


def prompt_texts(
    sources: Sources, focus: str, settings: Settings, count_tokens: CountTokens
) -> list[tuple[str, str]]:
    """(title, text) per source as the prompt holds it: the best one (nearly) whole, the others
    trimmed to the sentences most relevant to ``focus``."""
    budgets = [settings.lead_source_tokens] + [settings.source_tokens] * (len(sources.hits) - 1)
    return [
        (h.title, trim_to_budget(a, focus, budget, count_tokens))
        for h, a, budget in zip(sources.hits, sources.abstracts, budgets)
    ]


def lead_prefix(paper: Paper, settings: Settings, count_tokens: CountTokens) -> list[dict]:
    """The opening of the prompt of a question whose best source is ``paper``, before any question:
    the system text and the paper as source [1], trimmed for no question in particular (whole when
    it fits the lead budget, as most abstracts do). Read ahead (``LLM.read_ahead``), it leaves such a
    question only its other sources and its own words to read."""
    text = trim_to_budget(
        without_instructions(paper.abstract)[0], "", settings.lead_source_tokens, count_tokens
    )
    return prompts.qa_messages(prompts.qa_sources([(paper.title, text)]))
