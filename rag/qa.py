"""Answering a planned question from its prepared sources: gate, prompt, constrain, check.

``answer_stream`` yields the answer's text as it is generated and returns the checked
``Answer``, built once at the end. A yes/no question gets a verdict and the result sentence it
rests on (``rag.verdict``); an open one is written by the model in constrained JSON, streamed,
then checked (``rag.checks``). Topic questions are ``rag.topics``'.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, replace

from . import datasets, prompts, questions, second_opinion
from . import verdict as verdicts
from .answer import Answer, Citation, Refusal
from .checks import check_claim, coverage, evidence_sentence, gate
from .llm import LLM, Choice, Options
from .planning import Plan, Turn
from .questions import Kind
from .settings import Settings
from .sources import Sources, prompt_texts
from .text import complete_sentences, sentences

# (query, texts) -> each text's best sentence similarity to the query (``Library.sentence_similarities``)
Similarities = Callable[[str, Sequence[str]], list[float]]


@dataclass(frozen=True)
class Outcome:
    """What an answer says, before it is put together with its sources and timings."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    refusal: Refusal | None = None
    reason: str = ""
    verdict: str | None = None
    verdict_scores: dict = field(default_factory=dict)
    verdict_confidence: float | None = None
    transcript: list[dict] = field(default_factory=list)
    # an open answer's bare name or number as the model wrote it, before its cited sentence is
    # added (``with_its_evidence``); empty for an answer written as a sentence
    fact: str = ""

    @property
    def abstained(self) -> bool:
        return self.refusal is not None


def refused(kind: Refusal, reason: str) -> Outcome:
    return Outcome(text=prompts.REFUSAL, refusal=kind, reason=reason)


def answer_stream(
    plan: Plan,
    sources: Sources,
    llm: LLM,
    settings: Settings,
    started: float,
    similarities: Similarities | None = None,
    verdict_llm: LLM | None = None,
    standout: float | None = None,
) -> Generator[str, None, Answer]:
    """Text pieces of the answer; returns the checked ``Answer`` (wrap it in an ``AnswerStream``).

    The gate judges the plan's query over all the sources; an open question is then answered
    from those on its focus (``Sources.read``), a yes/no question from the closest one.
    ``similarities`` gives each source's best sentence similarity to the query; without it the
    retrieved chunks' similarity is used. A yes/no verdict is decided by ``verdict_llm``
    (default ``llm``); with ``settings.second_opinion``, an open answer in doubt is answered again
    by ``verdict_llm``, when it is another model than ``llm`` (``rag.second_opinion``).
    ``standout``: how far a yes/no question's closest paper stands out from the library's papers
    near it (``rag.retrieval.standout``; None: not measured).
    """
    timings = {"retrieve": round(time.perf_counter() - started, 3)}
    passages = sources.passages
    closeness = (
        similarities(plan.query, passages)
        if similarities
        else [h.dense_similarity or 0.0 for h in sources.hits]
    )
    gated = gate(
        plan.query,
        passages,
        max(closeness, default=0.0),
        min_relevance=settings.min_relevance,
        min_coverage=settings.min_coverage,
        named=plan.named,
    )
    read, outcome = sources, None
    if not gated.passed:
        outcome = refused(
            gated.refusal or Refusal.LOW_RELEVANCE, f"refused before generation: {gated.reason}"
        )
        yield outcome.text
    elif plan.question.kind is Kind.YES_NO:
        verdict_started = time.perf_counter()
        outcome = yes_no_answer(plan, sources, closeness, verdict_llm or llm, settings, standout)
        if not outcome.refusal:
            timings["verdict"] = round(time.perf_counter() - verdict_started, 3)
        timings["first_token"] = round(time.perf_counter() - started, 3)
        yield outcome.text
    else:
        read = sources.read
        outcome = yield from timed(open_answer(plan, read, llm, settings), timings, started)
        if settings.second_opinion and verdict_llm is not None and verdict_llm is not llm:
            outcome = yield from reconsidered(plan, read, outcome, verdict_llm, settings, timings)
    timings["total"] = round(time.perf_counter() - started, 3)
    return answer_of(plan, outcome, read, timings, gated.passed)


def timed(
    pieces: Generator[str, None, Outcome], timings: dict, started: float
) -> Generator[str, None, Outcome]:
    """The pieces, passed on; the time of the first is noted as ``first_token``."""
    while True:
        try:
            delta = next(pieces)
        except StopIteration as done:
            return done.value
        timings.setdefault("first_token", round(time.perf_counter() - started, 3))
        yield delta


def reconsidered(
    plan: Plan, sources: Sources, draft: Outcome, larger_llm: LLM, settings: Settings, timings: dict
) -> Generator[str, None, Outcome]:
    """The draft, or where it is in doubt (``rag.second_opinion``) the larger model's answer from
    the same sources, checked the same way; what was streamed of the draft stays above a note."""
    started = time.perf_counter()
    question = plan.question.text
    why = second_opinion.doubt(
        question, draft.fact, draft.citations, draft.refusal, larger_llm, settings.draft_min_support
    )
    timings["draft_check"] = round(time.perf_counter() - started, 3)
    if not why:
        return draft
    yield f"\n\n{prompts.RECONSIDERING}\n\n"
    # Not remembered: a follow-up is the answer model's to continue, and the larger model's saved
    # states (~3x the answer model's per token) would grow the app's memory for nothing.
    outcome = yield from open_answer(plan, sources, larger_llm, settings, remember=False)
    timings["larger_model"] = round(time.perf_counter() - started, 3)
    notes = (f"answered by the larger model: {why}", outcome.reason)
    return replace(outcome, reason="; ".join(r for r in notes if r))


def answer_of(plan: Plan, outcome: Outcome, read: Sources, timings: dict, gated: bool) -> Answer:
    """The ``Answer``, built once: the outcome, the sources it read, and when each step ended. A
    reader is told which sources had sentences addressed to it, unless the gate refused first."""
    notes = [outcome.reason] if outcome.reason else []
    if read.flagged and gated:
        notes.append(f"sentences addressed to the reader were left out of sources {list(read.flagged)}")
    return Answer(
        question=plan.question.text,
        text=outcome.text,
        citations=outcome.citations,
        refusal=outcome.refusal,
        reason="; ".join(notes),
        verdict=outcome.verdict,
        verdict_scores=outcome.verdict_scores,
        verdict_confidence=outcome.verdict_confidence,
        sources=list(read.hits),
        timings=timings,
        transcript=outcome.transcript,
    )


def open_answer(
    plan: Plan, sources: Sources, llm: LLM, settings: Settings, remember: bool = True
) -> Generator[str, None, Outcome]:
    """An open question's answer, written by the model in JSON, streamed, then checked. With
    ``remember``, the model keeps the conversation's state for a follow-up (``Options.remember``)."""
    question = plan.question.text
    texts = prompt_texts(sources, plan.focus, settings, llm.count_tokens)
    previous = plan.history[-1][1] if plan.history else None
    messages = continued_conversation(
        previous, sources, texts, question, settings, llm.count_tokens
    ) or prompts.qa_messages(prompts.qa_user_message(texts, question, turn_texts(plan.history)))
    parser = AnswerStreamParser()
    opening = Choice(prompts.QA_ANSWER_PREFIX, {}, None, prompts.QA_CONTINUATION_GRAMMAR)
    # Remembered: a follow-up may continue this prompt after other questions came in between.
    options = Options(
        max_tokens=settings.answer_max_tokens,
        json_schema=prompts.QA_SCHEMA,
        choice=opening,
        remember=remember,
        next_turn=prompts.QA_FOLLOW_UP_OPENING,
    )
    for piece in llm.stream(messages, options):
        delta = parser.feed(piece)
        if delta:
            yield delta
    outcome = check_answer(question, parser.raw, sources, settings, partial=parser.emitted)
    if outcome.refusal:
        return outcome
    return replace(outcome, transcript=[*messages, {"role": "assistant", "content": parser.raw}])


def turn_texts(history: Sequence[Turn]) -> list[tuple[str, str]]:
    return [(q, a.text if isinstance(a, Answer) else a) for q, a in history]


def continued_conversation(
    previous: str | Answer | None,
    sources: Sources,
    texts: list[tuple[str, str]],
    question: str,
    settings: Settings,
    count_tokens: Callable[[str], int],
) -> list[dict] | None:
    """The previous answer's conversation with this question as its next turn, when this turn
    reads the same sources (a follow-up keeps them, ``planning.plan``). llama.cpp then holds every
    token before the question, the previous answer included (in its context, or restored from the
    prompt cache, which saved the state after that answer), and reads only the question, where a
    "Conversation so far" block would be re-read in full. None when there is no such
    conversation or it would not fit the context with an answer."""
    if not isinstance(previous, Answer) or not previous.transcript:
        return None
    transcript = previous.transcript
    if [h.paper_id for h in previous.sources] != [h.paper_id for h in sources.hits] or not transcript[1][
        "content"
    ].startswith(prompts.qa_sources(texts) + "\n\n"):
        return None
    messages = prompts.qa_follow_up(transcript, question)
    # ~5 tokens of chat markup per message
    needed = sum(count_tokens(m["content"]) + 5 for m in messages) + settings.answer_max_tokens
    return messages if needed <= settings.n_ctx else None


def closest(closeness: list[float]) -> int:
    """The index of the source a yes/no verdict rests on: the one whose sentence is closest to
    the question (the first source when nothing was measured)."""
    return max(range(len(closeness)), key=closeness.__getitem__) if closeness else 0


def yes_no_answer(
    plan: Plan,
    sources: Sources,
    closeness: list[float],
    verdict_llm: LLM,
    settings: Settings,
    standout: float | None = None,
) -> Outcome:
    """A yes/no question's answer: the verdict the closest source's results support, and that
    source's result sentence, quoted and cited (``rag.verdict``). The source is the one whose
    sentence is closest to the question, which is what the gate passed it on."""
    question = plan.question.text
    lead = closest(closeness)
    # The verdict rests on this one source, and there is no generated claim to check: the
    # question is the claim, so the source must hold as large a share of its terms as a cited
    # source must of an answer's. The gate judged the sources together; a near-topic neighbour
    # of a missing abstract passes that but not this.
    covered = coverage(plan.query, sources.passages[lead])
    if covered < settings.min_support:
        return refused(
            Refusal.LOW_RELEVANCE,
            f"refused before the verdict: the closest abstract holds {covered:.0%} of the question's terms",
        )
    if standout is not None and standout < settings.min_standout and covered < settings.standout_coverage:
        return refused(
            Refusal.LOW_RELEVANCE,
            f"refused before the verdict: the closest abstract is one of many near the question "
            f"(it stands out by {standout:.2f}) and holds {covered:.0%} of its terms",
        )
    abstract = sources.abstracts[lead]
    evidence = verdicts.evidence(verdict_llm, question, abstract)
    leaning = evidence.word(settings.verdict_no_margin)
    confidence = evidence.confidence(settings.verdict_no_margin) if leaning else None
    # Shown only where the evidence decides: an unclear verdict would be a coin flip in a badge.
    word = leaning if confidence is not None and confidence >= settings.verdict_min_confidence else None
    sentence = evidence.finding
    hit = sources.hits[lead]
    citation = Citation(
        number=lead + 1,
        paper_id=hit.paper_id,
        title=hit.title,
        url=hit.url,
        sentence=sentence,
        score=hit.score,
    )
    return Outcome(
        text=verdicts.stated(word, sentence),
        citations=[citation],
        verdict=word.lower() if word else None,
        verdict_scores={w: round(lp, 4) for w, lp in evidence.mean().items()},
        verdict_confidence=None if confidence is None else round(confidence, 4),
    )


_MARKER = re.compile(r"\s*\[(\d{1,2})\]")


def check_answer(question: str, raw: str, sources: Sources, settings: Settings, partial: str = "") -> Outcome:
    """The model's raw output as a checked answer, or the refusal it comes to."""
    parsed, cut = parse_output(raw), ""
    finished = complete_sentences(partial) if parsed is None else ""
    if finished:
        # The answer ran past the token limit and its JSON was cut off: keep its finished
        # sentences; with no citations left, the checks attribute them to a supporting source.
        parsed, cut = (finished, []), "answer cut at the token limit; kept its finished sentences"
    if parsed is None:
        return refused(Refusal.INVALID_OUTPUT, "the model's output was not valid JSON")
    text, cited = parsed
    # Markers the model wrote into the text ("[1] kMaX-DeepLab ...") are citations, not claims.
    cited = cited + [int(n) for n in _MARKER.findall(text)]
    text = re.sub(r"\s{2,}", " ", _MARKER.sub("", text)).strip()
    if not text or is_refusal(text):
        return refused(Refusal.MODEL_DECLINED, "the model found no answer in the sources")
    hits, abstracts = sources.hits, list(sources.abstracts)
    check = check_claim(
        question, text, cited, [h.title for h in hits], abstracts, min_support=settings.min_support
    )
    if check.refusal:
        return refused(check.refusal, check.reason)
    citations = [
        Citation(
            number=n,
            paper_id=hits[n - 1].paper_id,
            title=hits[n - 1].title,
            url=hits[n - 1].url,
            sentence=evidence_sentence(text, question, abstracts[n - 1]),
            score=hits[n - 1].score,
        )
        for n in check.kept
    ]
    dropped = f"dropped unsupported citations {check.dropped}" if check.dropped else ""
    named = named_datasets(question, text, citations, sources)
    if named:
        citations = [replace(citations[0], sentence=named[1]), *citations[1:]]
    return Outcome(
        text=f"{named[0]}: {named[1]}" if named else with_its_evidence(text, citations),
        citations=citations,
        reason="; ".join(r for r in (cut, dropped, DATASETS_NAMED if named else "") if r),
        # a list copied from the source by rule is not the model's to doubt
        fact="" if named or not bare(text) else text,
    )


DATASETS_NAMED = "the datasets given as the cited abstract names them"


def named_datasets(
    question: str, text: str, citations: list[Citation], sources: Sources
) -> tuple[str, str] | None:
    """For a which-datasets question whose answer names none of the datasets its first cited source
    names (``rag.datasets``): those names, as listed, and the source's sentence naming the first."""
    if not citations or not questions.asks_datasets(question):
        return None
    lead = citations[0]
    abstract = sources.abstracts[lead.number - 1]
    known = f"{question} {lead.title}"
    names = datasets.evaluated_on(abstract, known)
    if not names or datasets.names_any(text, abstract, known):
        return None
    # A name of several words is joined by single spaces, which the abstract may not use
    # ("Penn  Treebank"): its first word finds the sentence; the cited one if even that fails.
    first_word = names[0].split()[0]
    sentence = next((s for s in sentences(abstract) if datasets.names_one(s, [first_word])), lead.sentence)
    return datasets.listed(names), sentence


class AnswerStreamParser:
    """Pulls the ``answer`` string out of a JSON object while it is still being generated."""

    _START = re.compile(r'"answer"\s*:\s*"')

    def __init__(self):
        self.raw, self.emitted = "", ""

    def feed(self, piece: str) -> str:
        self.raw += piece
        start = self._START.search(self.raw)
        if not start:
            return ""
        body = self.raw[start.end() :]
        end = re.search(r'(?<!\\)(?:\\\\)*"', body)
        body = body[: end.end() - 1] if end else re.sub(r"\\(u[0-9a-fA-F]{0,3})?$", "", body)
        try:
            text = json.loads(f'"{body}"')
        except json.JSONDecodeError:
            return ""
        delta, self.emitted = text[len(self.emitted) :], text
        return delta


def parse_output(raw: str) -> tuple[str, list[int]] | None:
    """The answer and cited numbers from the model's JSON; a server that could not constrain its
    output may wrap the object in prose, so the outermost {...} is tried as well."""
    for candidate in (raw, *re.findall(r"\{.*\}", raw, re.S)):
        try:
            data = json.loads(candidate)
            return str(data["answer"]).strip(), [int(n) for n in data.get("citations", [])]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            continue
    return None


def is_refusal(text: str) -> bool:
    return (
        text.strip().rstrip(".").lower() == prompts.REFUSAL.rstrip(".").lower()
        or "do not contain the answer" in text.lower()
    )


def bare(text: str) -> bool:
    """A name or number alone ("59", "NVIDIA A100 GPU"), not a sentence."""
    return len(text.split()) <= 4


def with_its_evidence(text: str, citations: list[Citation]) -> str:
    """A bare name or number to an open question ("kMaX-DeepLab") followed by the cited sentence
    that gives the fact around it, in the abstract's own words: the what and the why in one answer."""
    if not bare(text) or not citations:
        return text
    return f"{text.rstrip('.')}: {citations[0].sentence.strip()}"
