"""Grounded question answering: retrieve, gate, prompt, constrain, check."""

from __future__ import annotations

import json
import re
import time
from typing import Callable, Generator, Sequence

from . import prompts, verdict as verdicts
from .answer import Answer, Citation, Refusal
from .llm import LLM, Choice
from .grounding import (check_citations, content_terms, coverage, evidence_sentence, gate, names_a_cited_paper,
                        sentences, specific_terms, without_instructions, wrong_answer_type)
from .naming import names_paper
from .paper import Paper
from .retrieval import Hit
from .settings import Settings


Turn = tuple[str, "str | Answer"]  # (question, its answer: as shown, or the Answer itself)
_FOLLOW_UP = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|the paper|the method|"
                        r"the model|the authors)\b", re.I)


def retrieval_query(question: str, history: Sequence[Turn]) -> str:
    """A follow-up ("and what dataset did it use?") is searched together with the previous question;
    a short question naming its own subject ("What is Monolith used for?") is a new one."""
    if not history:
        return question
    if _FOLLOW_UP.search(question) or (len(content_terms(question)) < 3 and not specific_terms(question)):
        return f"{history[-1][0]} {question}"
    return question


def turn_texts(history: Sequence[Turn]) -> list[tuple[str, str]]:
    return [(q, a.text if isinstance(a, Answer) else a) for q, a in history]


def trim_to_budget(text: str, question: str, budget: int, count_tokens) -> str:
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
        body = self.raw[start.end():]
        end = re.search(r'(?<!\\)(?:\\\\)*"', body)
        body = body[: end.end() - 1] if end else re.sub(r"\\(u[0-9a-fA-F]{0,3})?$", "", body)
        try:
            text = json.loads(f'"{body}"')
        except json.JSONDecodeError:
            return ""
        delta, self.emitted = text[len(self.emitted):], text
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


def refusal(question: str, kind: Refusal, reason: str, hits: list[Hit], timings: dict) -> Answer:
    return Answer(question=question, text=prompts.REFUSAL, refusal=kind, reason=reason, sources=hits,
                  timings=timings)


def is_refusal(text: str) -> bool:
    return text.strip().rstrip(".").lower() == prompts.REFUSAL.rstrip(".").lower() or \
        "do not contain the answer" in text.lower()


def titled(hits: list[Hit], abstracts: list[str]) -> list[str]:
    """Each source as the model reads it, under its title: the gate and the citation checks
    judge this text, so a name from a title ("kMaX-DeepLab") counts as grounded."""
    return [f"{h.title}\n{a}" for h, a in zip(hits, abstracts)]


def source_abstracts(hits: list[Hit], papers: dict[str, Paper]) -> tuple[list[str], list[int]]:
    """Each hit's abstract as the model and the checks read it, without sentences that address
    the reader (a prompt injection is data, never an instruction), and the numbers of the
    sources that had such sentences."""
    cleaned = [without_instructions(papers[h.paper_id].abstract) for h in hits]
    return [text for text, _ in cleaned], [n for n, (_, removed) in enumerate(cleaned, 1) if removed]


def source_texts(hits: list[Hit], abstracts: list[str], focus: str, settings: Settings,
                 count_tokens: Callable[[str], int]) -> list[tuple[str, str]]:
    """(title, text) per source: the best one (nearly) whole, the others trimmed to the sentences
    most relevant to ``focus``. The same hits and focus give the same text, token for token."""
    budgets = [settings.lead_source_tokens] + [settings.source_tokens] * (len(hits) - 1)
    return [(h.title, trim_to_budget(a, focus, budget, count_tokens))
            for h, a, budget in zip(hits, abstracts, budgets)]


def lead_prefix(paper: Paper, settings: Settings, count_tokens: Callable[[str], int]) -> list[dict]:
    """The opening of the prompt of a question whose best source is ``paper``, before any question:
    the system text and the paper as source [1], trimmed for no question in particular (whole when
    it fits the lead budget, as most abstracts do). Read ahead (``LLM.prefill``), it leaves such a
    question only its other sources and its own words to read."""
    text = trim_to_budget(without_instructions(paper.abstract)[0], "", settings.lead_source_tokens, count_tokens)
    return prompts.qa_messages(prompts.qa_sources([(paper.title, text)]))


def sources_read(question: str, hits: list[Hit], papers: dict[str, Paper], focus: str | None = None
                 ) -> list[Hit]:
    """The sources the model is given: for an open question, those on ``focus`` (the question the
    sources are trimmed for; default ``question``), so the prompt is shorter and the answer starts
    sooner; a yes/no question's verdict chooses among all of them (``yes_no_answer``)."""
    if prompts.is_yes_no(question):
        return hits
    return [hits[i] for i in on_question(focus or question, titled(hits, source_abstracts(hits, papers)[0]))]


Similarities = Callable[[str, Sequence[str]], list[float]]


def answer_stream(question: str, hits: list[Hit], papers: dict[str, Paper], llm: LLM, settings: Settings,
                  history: Sequence[Turn] = (), started: float | None = None,
                  resolved: str | None = None, focus: str | None = None,
                  similarities: Similarities | None = None, verdict_llm: LLM | None = None
                  ) -> Generator[str, None, Answer]:
    """Text pieces of the answer; returns the checked ``Answer`` (wrap it in an ``AnswerStream``).

    ``resolved`` is the question as searched (a follow-up joined to the question it follows):
    the gate judges that, so "which product has it landed in?" is judged with what "it" is.
    ``focus`` is the question the sources are trimmed for (default ``question``): a follow-up
    that keeps the previous turn's sources keeps their text too, so the prompt prefix is reused.
    ``similarities(query, texts)`` gives each source's best sentence similarity to the query
    (``Library.sentence_similarities``); without it the retrieved chunks' similarity is used.
    A yes/no question gets ``yes_no_answer``: a verdict by ``verdict_llm`` (default ``llm``)
    and the source's own result sentence; an open one gets ``open_answer``, generated and checked.
    """
    started = started or time.perf_counter()
    timings = {"retrieve": round(time.perf_counter() - started, 3)}
    abstracts, flagged = source_abstracts(hits, papers)
    judged, passages = resolved or question, titled(hits, abstracts)
    closeness = similarities(judged, passages) if similarities else [h.dense_similarity or 0.0 for h in hits]
    # The sources are the papers the question names when every one is (Library.named_papers).
    named = bool(hits) and all(names_paper(question, h.title) for h in hits)
    gated = gate(judged, passages, max(closeness, default=0.0),
                 min_relevance=settings.min_relevance, min_coverage=settings.min_coverage, named=named)
    if not gated.passed:
        timings["total"] = round(time.perf_counter() - started, 3)
        yield prompts.REFUSAL
        return refusal(question, gated.refusal, f"refused before generation: {gated.reason}", hits, timings)
    if prompts.is_yes_no(question):
        answer = yes_no_answer(question, hits, abstracts, closeness, verdict_llm or llm, settings, timings,
                               resolved=judged)
        timings["first_token"] = timings["total"] = round(time.perf_counter() - started, 3)
        yield answer.text
    else:
        hits = sources_read(question, hits, papers, focus)
        abstracts, flagged = source_abstracts(hits, papers)
        answer = yield from open_answer(question, hits, abstracts, llm, settings, history, focus, timings, started)
    if flagged:
        note = f"sentences addressed to the reader were left out of sources {flagged}"
        answer.reason = "; ".join(r for r in (answer.reason, note) if r)
    return answer


def open_answer(question: str, hits: list[Hit], abstracts: list[str], llm: LLM, settings: Settings,
                history: Sequence[Turn], focus: str | None, timings: dict, started: float
                ) -> Generator[str, None, Answer]:
    """An open question's answer, written by the model in JSON, streamed, then checked."""
    sources = source_texts(hits, abstracts, focus or question, settings, llm.count_tokens)
    previous = history[-1][1] if history else None
    messages = continued_conversation(previous, hits, sources, question, settings, llm.count_tokens) or \
        prompts.qa_messages(prompts.qa_user_message(sources, question, turn_texts(history)))
    parser = AnswerStreamParser()
    opening = Choice(prompts.QA_ANSWER_PREFIX, {}, None, prompts.QA_CONTINUATION_GRAMMAR)
    # Remembered: a follow-up may continue this prompt after other questions came in between.
    for piece in llm.stream(messages, max_tokens=settings.answer_max_tokens, json_schema=prompts.QA_SCHEMA,
                            remember=True, choice=opening, next_turn=prompts.QA_FOLLOW_UP_OPENING):
        delta = parser.feed(piece)
        if delta:
            timings.setdefault("first_token", round(time.perf_counter() - started, 3))
            yield delta
    timings["total"] = round(time.perf_counter() - started, 3)
    answer = check_answer(question, parser.raw, hits, abstracts, settings, timings, partial=parser.emitted)
    if not answer.abstained:
        answer.transcript = [*messages, {"role": "assistant", "content": parser.raw}]
    return answer


def continued_conversation(previous: str | Answer | None, hits: list[Hit], sources: list[tuple[str, str]],
                           question: str, settings: Settings, count_tokens: Callable[[str], int]
                           ) -> list[dict] | None:
    """The previous answer's conversation with this question as its next turn, when this turn
    reads the same sources (a follow-up keeps them, ``Library._turn_sources``). llama.cpp then
    holds every token before the question, the previous answer included (in its context, or
    restored from the prompt cache, which saved the state after that answer), and reads only the
    question, where a "Conversation so far" block would be re-read in full. None when there is
    no such conversation or it would not fit the context with an answer."""
    transcript = previous.transcript if isinstance(previous, Answer) else []
    if not transcript or [h.paper_id for h in previous.sources] != [h.paper_id for h in hits] or \
            not transcript[1]["content"].startswith(prompts.qa_sources(sources) + "\n\n"):
        return None
    messages = prompts.qa_follow_up(transcript, question)
    # ~5 tokens of chat markup per message
    needed = sum(count_tokens(m["content"]) + 5 for m in messages) + settings.answer_max_tokens
    return messages if needed <= settings.n_ctx else None


def yes_no_answer(question: str, hits: list[Hit], abstracts: list[str], closeness: list[float],
                  verdict_llm: LLM, settings: Settings, timings: dict, resolved: str | None = None) -> Answer:
    """A yes/no question's answer: the verdict the closest source's results support, and that
    source's result sentence, quoted and cited (``rag.verdict``). The source is the one whose
    sentence is closest to the question, which is what the gate passed it on. ``resolved`` is
    the question as searched (a follow-up joined to the one it follows)."""
    lead = max(range(len(hits)), key=lambda i: closeness[i]) if closeness else 0
    # The verdict rests on this one source, and there is no generated claim to check: the
    # question is the claim, so the source must hold as large a share of its terms as a cited
    # source must of an answer's. The gate judged the sources together; a near-topic neighbour
    # of a missing abstract passes that but not this (PubMedQA dev, docs/benchmarks.md).
    covered = coverage(resolved or question, titled([hits[lead]], [abstracts[lead]])[0])
    if covered < settings.min_support:
        return refusal(question, Refusal.LOW_RELEVANCE, f"refused before the verdict: the closest abstract "
                       f"holds {covered:.0%} of the question's terms", hits, timings)
    started = time.perf_counter()
    scores = verdicts.scores(verdict_llm, question, abstracts[lead])
    timings["verdict"] = round(time.perf_counter() - started, 3)
    word = verdicts.decide(scores, settings.verdict_no_margin)
    sentence = verdicts.finding(question, abstracts[lead])
    hit = hits[lead]
    citation = Citation(number=lead + 1, paper_id=hit.paper_id, title=hit.title, url=hit.url, sentence=sentence,
                        score=hit.score)
    return Answer(question=question, text=verdicts.stated(word, sentence), citations=[citation],
                  verdict=word.lower() if word else None, verdict_scores={w: round(lp, 4) for w, lp in scores.items()},
                  sources=hits, timings=timings)


def complete_sentences(text: str) -> str:
    """The text up to its last finished sentence ("" when none is finished)."""
    parts = sentences(text)
    if parts and not re.search(r"[.!?][\"')\]]*$", parts[-1]):
        parts = parts[:-1]
    return " ".join(parts)


_MARKER = re.compile(r"\s*\[(\d{1,2})\]")


def check_answer(question: str, raw: str, hits: list[Hit], abstracts: list[str], settings: Settings,
                 timings: dict, partial: str = "") -> Answer:
    parsed, cut = parse_output(raw), ""
    finished = complete_sentences(partial) if parsed is None else ""
    if finished:
        # The answer ran past the token limit and its JSON was cut off: keep its finished
        # sentences; with no citations left, the checks attribute them to a supporting source.
        parsed, cut = (finished, []), "answer cut at the token limit; kept its finished sentences"
    if parsed is None:
        return refusal(question, Refusal.INVALID_OUTPUT, "the model's output was not valid JSON", hits, timings)
    text, cited = parsed
    # Markers the model wrote into the text ("[1] kMaX-DeepLab ...") are citations, not claims.
    cited = cited + [int(n) for n in _MARKER.findall(text)]
    text = re.sub(r"\s{2,}", " ", _MARKER.sub("", text)).strip()
    if not text or is_refusal(text):
        return refusal(question, Refusal.MODEL_DECLINED, "the model found no answer in the sources", hits, timings)
    # A bare "Yes" to an open question answers nothing; a bare "76 minutes" or "LAMB" can, when
    # it is the kind of thing asked for (a number to "how many", a name to "which method").
    wrong = wrong_answer_type(question, text) or ("" if content_terms(text) or specific_terms(text) else "it says nothing")
    if wrong:
        return refusal(question, Refusal.NOT_AN_ANSWER,
                       f"answer withdrawn: {text!r} does not answer the question ({wrong})", hits, timings)
    passages = titled(hits, abstracts)
    check = check_citations(text, question, cited, passages, min_support=settings.min_support)
    if check.refusal:
        # The withdrawn text is kept in the reason: the reader sees what was not supported.
        return refusal(question, check.refusal, f"answer withdrawn: {text!r}: {check.unsupported}", hits, timings)
    if not names_a_cited_paper(question, text, [(hits[n - 1].title, abstracts[n - 1]) for n in check.kept]):
        return refusal(question, Refusal.NOT_AN_ANSWER,
                       f"answer withdrawn: {text!r} names no cited paper, and the question asks which paper",
                       hits, timings)
    if off_question(question, check.kept, passages):
        return refusal(question, Refusal.OFF_QUESTION,
                       f"answer withdrawn: {text!r} comes from a source that shares less than half as many of "
                       "the question's terms as another source", hits, timings)
    citations = [Citation(number=n, paper_id=hits[n - 1].paper_id, title=hits[n - 1].title, url=hits[n - 1].url,
                          sentence=evidence_sentence(text, question, abstracts[n - 1]), score=hits[n - 1].score)
                 for n in check.kept]
    dropped = f"dropped unsupported citations {check.dropped}" if check.dropped else ""
    reason = "; ".join(r for r in (cut, dropped) if r)
    return Answer(question=question, text=with_its_evidence(question, text, citations), citations=citations,
                  reason=reason, sources=hits, timings=timings)


def on_question(question: str, sources: list[str]) -> list[int]:
    """Indexes of the sources that share at least half as many of the question's terms as the
    source sharing most. Relative, not a fixed share: "Which datasets is DeFINE evaluated on?"
    shares one term in three with the right abstract. An answer resting only on the other sources
    is about another paper than the one asked about (``off_question``), so they are not given to
    the model either: each would cost it ~90 tokens to read before its first word (issue 13)."""
    shared = [coverage(question, text) for text in sources]
    most = max(shared, default=0.0)
    return [i for i, share in enumerate(shared) if share >= most / 2]


def off_question(question: str, cited: list[int], sources: list[str]) -> bool:
    """Whether none of the ``cited`` sources (1-based numbers) is on the question (``on_question``):
    the answer, true of its own paper, is about another paper than the one asked about ("Which
    accelerator extracts timing from nuclear detector signals?" answered from MobileDets, with
    PulseDL-II's abstract among the sources)."""
    return not {n - 1 for n in cited} & set(on_question(question, sources))


def with_its_evidence(question: str, text: str, citations: list[Citation]) -> str:
    """A bare name or number to an open question ("kMaX-DeepLab") followed by the cited sentence
    that gives the fact around it, in the abstract's own words: the what and the why in one answer."""
    if len(text.split()) > 4 or not citations:
        return text
    return f"{text.rstrip('.')}: {citations[0].sentence.strip()}"
