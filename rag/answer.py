"""The answer contract: what a question gets back, and the stream it arrives in.

Refusals are typed (``Refusal``), set where the decision is made; the human ``reason`` is for
display only, never parsed. A stream yields text pieces and exposes the checked ``Answer`` as
``.answer`` once it is exhausted, in the style of simonw/llm's ``Response``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum

from .retrieval import Hit


class Refusal(str, Enum):
    """Why no answer was given."""

    # The gate, before generation.
    NOTHING_RETRIEVED = "gate: nothing retrieved"
    NAMES_MISSING = "gate: names not found"
    NAMES_APART = "gate: names not in one source"
    LOW_RELEVANCE = "gate: low relevance"
    # The model.
    MODEL_DECLINED = "model declined"
    INVALID_OUTPUT = "model output invalid"
    # The checks, after generation: the answer was withdrawn.
    UNSUPPORTED = "withdrawn: no supporting source"
    NAMES_NOT_CITED = "withdrawn: names not in cited sources"
    NOT_AN_ANSWER = "withdrawn: not an answer"
    COUNT_MISMATCH = "withdrawn: count mismatch"
    OFF_QUESTION = "withdrawn: cited source off the question"
    WRONG_RELATION = "withdrawn: the source states another relation"

    @property
    def before_generation(self) -> bool:
        return self.value.startswith("gate")

    @property
    def withdrawn(self) -> bool:
        return self.value.startswith("withdrawn")


@dataclass(frozen=True)
class Citation:
    number: int  # the source's number in the prompt
    paper_id: str
    title: str
    url: str
    sentence: str  # the sentence of the abstract that best supports the answer
    score: float  # the source's retrieval score


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refusal: Refusal | None = None  # why there is no answer; None when there is one
    reason: str = ""  # for display: why it was refused, or which citations were dropped
    # "yes", "no" or "maybe" for a yes/no question whose evidence is clear enough to show a
    # verdict (settings.verdict_min_confidence); None otherwise, the quoted finding standing alone.
    verdict: str | None = None
    # The verdict words' log-probabilities, the mean over the orders the words were offered in,
    # which the verdict is decided from (empty when the model exposes no scores or the question is
    # open), and how clearly they decide (rag.verdict.Evidence.confidence).
    verdict_scores: dict = field(default_factory=dict)
    verdict_confidence: float | None = None
    sources: list[Hit] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # seconds: retrieve, first_token, total
    # An open answer's chat messages, ending with the model's own output as the assistant's turn:
    # a follow-up on the same sources continues this conversation, whose tokens llama.cpp already
    # holds (``qa.continued_conversation``). Empty for refusals, verdicts and topic summaries.
    transcript: list[dict] = field(default_factory=list, repr=False)

    @property
    def abstained(self) -> bool:
        return self.refusal is not None

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("transcript")  # prompt text, not part of the answer
        data["refusal"] = self.refusal.value if self.refusal else None
        data["abstained"] = self.abstained
        return data

    def to_markdown(self) -> str:
        """The answer for a chat window: a refusal is marked as one, never dressed as an answer."""
        if self.abstained:
            return (
                f"**No answer found.** {self.text}\n\n_{self.reason}_"
                if self.reason
                else f"**No answer found.** {self.text}"
            )
        text = self.text
        if self.citations and "[" not in text:  # topic summaries already carry their markers
            text = f"{text} " + "".join(f"[{c.number}]" for c in self.citations)
        return f"{self.verdict_badge()} {text}" if self.verdict else text

    def verdict_badge(self) -> str:
        """The yes/no verdict as a label for the chat window ("" for open questions); a code span
        renders as a pill in Markdown and survives the chat's HTML sanitising."""
        if not self.verdict:
            return ""
        label = "Unclear" if self.verdict == "maybe" else self.verdict.capitalize()
        return f"**Verdict:** `{label}` ·"

    def sources_markdown(self) -> str:
        """The citations as a sources panel: linked title, supporting sentence, retrieval score."""
        if not self.citations:
            searched = ", ".join(h.title for h in self.sources[:3])
            return f"No sources cited. Searched: {searched}." if searched else "No sources cited."
        lines = ["**Sources**", ""]
        for c in self.citations:
            title = f"[{c.title}]({c.url})" if c.url else c.title
            lines += [f"{c.number}. {title} (retrieval score {c.score:.3f})  ", f"   > {c.sentence}", ""]
        return "\n".join(lines)


class AnswerStream:
    """The answer's text pieces as they are generated, and the checked ``Answer`` they make.

    Iterate for the pieces; ``answer`` (or ``result()``) is the ``Answer``, and reading it
    finishes the stream first, as simonw/llm's ``Response.text()`` does. The pipeline's
    generators yield the pieces and return the ``Answer``.
    """

    def __init__(self, pieces: Generator[str, None, Answer], sources: Sequence[Hit] = ()):
        self._pieces = pieces
        self.sources = list(sources)  # known before the first piece: shown while the model reads
        self._answer: Answer | None = None

    @property
    def done(self) -> bool:
        """Whether every piece has been generated (a check that, unlike ``answer``, generates nothing:
        for another thread than the one reading the stream)."""
        return self._answer is not None

    @property
    def answer(self) -> Answer:
        """The checked answer, once every piece has been generated (reading it generates the rest)."""
        if self._answer is None:
            for _ in self:
                pass
        assert self._answer is not None
        return self._answer

    def reading_markdown(self) -> str:
        """What the model is reading before it answers, for a panel that would otherwise be blank."""
        if not self.sources:
            return "_No abstracts matched the question._"
        lines = [f"**Reading {len(self.sources)} abstract{'s' if len(self.sources) > 1 else ''}…**", ""]
        lines += [f"{n}. {h.title}" for n, h in enumerate(self.sources, 1)]
        return "\n".join(lines)

    def __iter__(self) -> Iterator[str]:
        if self._answer is None:  # a second loop over a finished stream yields nothing
            self._answer = yield from self._pieces

    def result(self) -> Answer:
        return self.answer
