"""Planning a question once: what it is, what is searched for it, and which sources it reads.

A ``Plan`` is everything decided before the model is asked: the question read
(``rag.questions``), the query as searched (a follow-up joined to the question it follows), the
question the sources are trimmed for, the sources retrieved, and whether they are the papers
the question names. The follow-up policy lives here too: a follow-up whose best source is the
previous turn's keeps the previous turn's sources and trimming, so the conversation's prompt
prefix, which llama.cpp already holds, is reused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from .naming import names_paper
from .questions import Question, refers_back
from .retrieval import Hit
from .text import content_terms, specific_terms

if TYPE_CHECKING:
    from .answer import Answer

Turn = tuple[str, Union[str, "Answer"]]  # (question, its answer: as shown, or the Answer itself)
# (query, papers to search within or None) -> hits, best first
Search = Callable[[str, list[str] | None], list[Hit]]

# Follow-ups that chain back to an earlier turn's sources; past this the chain is searched afresh.
FOLLOW_UP_DEPTH = 4


@dataclass(frozen=True)
class Plan:
    question: Question
    history: tuple[Turn, ...]
    query: str  # as searched, and as the gate judges it ("which product has it landed in?" with what "it" is)
    focus: str  # the question the sources are trimmed for (a kept follow-up keeps its first question's)
    hits: tuple[Hit, ...]  # the sources, best first
    named: bool  # every source is a paper the question names: its answer comes from them alone

    @property
    def follow_up(self) -> bool:
        return self.query != self.question.text


def retrieval_query(question: str, history: Sequence[Turn]) -> str:
    """A follow-up ("and what dataset did it use?") is searched together with the previous question;
    a short question naming its own subject ("What is Monolith used for?") is a new one."""
    if not history:
        return question
    if refers_back(question) or (len(content_terms(question)) < 3 and not specific_terms(question)):
        return f"{history[-1][0]} {question}"
    return question


def plan(
    question: Question, history: Sequence[Turn], search: Search, named_papers: Callable[[str], list[str]]
) -> Plan:
    """The plan for ``question`` after ``history``; ``search(query, within)`` retrieves, and
    ``named_papers(text)`` gives the ids of the stored papers a text names by title."""
    hits, focus, query = _turn_sources(question.text, list(history), search, named_papers)
    named = bool(hits) and all(names_paper(question.text, h.title) for h in hits)
    return Plan(
        question=question, history=tuple(history), query=query, focus=focus, hits=tuple(hits), named=named
    )


def _turn_sources(
    question: str,
    history: list[Turn],
    search: Search,
    named_papers: Callable[[str], list[str]],
    depth: int = 0,
) -> tuple[list[Hit], str, str]:
    """This turn's sources, the question they are trimmed for, and the query searched.

    A follow-up whose best source is the previous turn's best source keeps the previous
    turn's sources and trimming: the answer to "what does it reach on COCO?" is in the
    paper the chat is about, and an unchanged source block is a prompt prefix llama.cpp
    has already evaluated, so the follow-up starts answering sooner.
    """
    query = retrieval_query(question, history)
    hits = search(query, named_papers(question) or None)
    if query == question or depth >= FOLLOW_UP_DEPTH:
        return hits, question, query
    previous, focus, _ = _turn_sources(history[-1][0], history[:-1], search, named_papers, depth + 1)
    if previous and hits and previous[0].paper_id == hits[0].paper_id:
        return previous, focus, query
    # Read for the question as searched: "which optimizer does it use?" alone says not what "it" is.
    return hits, query, query
