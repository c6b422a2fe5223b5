"""The deterministic trust checks around the model: the answerability gate before generation,
the claim checks after it.

A small CPU model neither abstains nor cites reliably, so the pipeline decides: it refuses before
generation when retrieval cannot support an answer, and after generation keeps only citations
whose sources contain the answer's claims, of the kind the question asks for, about the paper
the question is about. Built on ``rag.text`` alone (and the question rules of ``rag.questions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .answer import Refusal
from .questions import asks_name, asks_number, asks_paper, counted_noun
from .relations import wrong_relation
from .text import (
    STOPWORDS,
    abbreviated,
    best_of,
    best_sentence,
    content_terms,
    coverage,
    is_name_like,
    mentions,
    numbers_in,
    sentences,
    specific_terms,
    stem,
    support,
    words,
)


def passage(title: str, abstract: str) -> str:
    """A source as the checks judge it: under its title, so a name from the title
    ("kMaX-DeepLab") counts as grounded."""
    return f"{title}\n{abstract}"


@dataclass(frozen=True)
class GateResult:
    refusal: Refusal | None  # None: the question may be answered
    reason: str  # for display
    similarity: float
    coverage: float

    @property
    def passed(self) -> bool:
        return self.refusal is None


# How much term coverage counts next to similarity in the gate's relevance score. Each alone
# separates answerable from unanswerable questions less well than the sum (bench/gate_sweep.py):
# similarity misses rewordings, coverage misses topic drift.
COVERAGE_WEIGHT = 0.5


def relevance(similarity: float, coverage: float) -> float:
    return similarity + COVERAGE_WEIGHT * coverage


def gate(
    question: str,
    passages: list[str],
    top_similarity: float | None,
    *,
    min_relevance: float,
    min_coverage: float,
    named: bool = False,
) -> GateResult:
    """Refuse before generation unless the retrieved text plausibly answers the question.

    ``top_similarity`` is the best similarity of any source sentence to the question. The names
    the question uses (PockEngine, ImageNet, 76) must all appear in one source: a paper asked
    about a dataset it never mentions is not answered from another paper that does.
    ``named``: the passages are the papers the question names (``rag.naming``).
    """
    if not passages:
        return GateResult(Refusal.NOTHING_RETRIEVED, "no abstracts matched the question", 0.0, 0.0)
    similarity = top_similarity or 0.0
    text = "\n".join(passages)
    names = specific_terms(question)
    covered = coverage(question, text)
    missing = sorted(names - _named_in(question, text, names))
    if missing:
        return GateResult(
            Refusal.NAMES_MISSING, f"the abstracts never mention {', '.join(missing)}", similarity, covered
        )
    if names and not any(holds_names(question, p) for p in passages):
        return GateResult(
            Refusal.NAMES_APART,
            f"no abstract mentions {', '.join(sorted(names))} together",
            similarity,
            covered,
        )
    if named:
        return _named_gate(question, text, similarity, covered)
    # A question naming things (Monolith, GPT-4) that a source mentions is on topic even when the
    # small embedder does not know the names: then the question's terms decide.
    if names and covered >= min_coverage:
        return GateResult(None, "", similarity, covered)
    if relevance(similarity, covered) < min_relevance:
        return GateResult(
            Refusal.LOW_RELEVANCE,
            f"no abstract is close to the question (similarity {similarity:.2f}, {covered:.0%} of its terms)",
            similarity,
            covered,
        )
    return GateResult(None, "", similarity, covered)


def holds_names(question: str, text: str) -> bool:
    """Whether ``text`` mentions every name the question uses (``specific_terms``), as written or
    abbreviated: an abstract that can be what the question is about."""
    names = specific_terms(question)
    return _named_in(question, text, names) == names


def _named_in(question: str, text: str, names: set[str]) -> set[str]:
    """Which of the question's ``names`` ``text`` mentions, as written or abbreviated
    ("the United States" in an abstract that says "U.S.")."""
    shortened = abbreviated(question, text)
    return {t for t in names if t in shortened or mentions(text, t)}


def _named_gate(question: str, text: str, similarity: float, covered: float) -> GateResult:
    """The gate's last step for a question that names its paper, whose names the paper mentions.

    Being named, the paper is on topic by the reader's word; closeness and shared terms judge
    that badly ("Which datasets is MultiGrain evaluated on?": its abstract says ImageNet and
    never "dataset"). What is left is that the abstract can hold the kind of answer asked for:
    a number, for "how many" (the checks then require the answer's number in it).
    """
    if asks_number(question) and not numbers_in(text):
        return GateResult(
            Refusal.LOW_RELEVANCE,
            "the question asks for a number and the paper it names gives none",
            similarity,
            covered,
        )
    return GateResult(None, "", similarity, covered)


def count_is_of(number: str, noun: str, text: str, window: int = 3) -> bool:
    """Whether ``text`` says ``number`` of ``noun`` ("94 bugs", "100 new bugs"), not of something else
    ("174 API functions"): the noun must follow the number within ``window`` words."""
    tokens = words(text)
    return any(
        t == number and noun in {stem(w) for w in tokens[i + 1 : i + 1 + window]}
        for i, t in enumerate(tokens)
    )


def miscounted(answer: str, question: str, cited: list[str]) -> list[str]:
    """For a "how many X" question, the answer's numbers that count X in none of the cited sources.
    Once one number does count X, another that the answer gives as a count of something else, as
    a cited source does ("94 bugs from 174 API functions"), is context rather than a wrong count."""
    noun = counted_noun(question)
    if noun is None:
        return []
    numbers = [w for w in words(answer) if re.fullmatch(r"\d+(?:\.\d+)?", w)]
    wrong = [n for n in numbers if not any(count_is_of(n, noun, text) for text in cited)]
    if len(wrong) < len(numbers):
        wrong = [n for n in wrong if not counted_as_cited(n, answer, cited)]
    return [f"{n} as {noun}" for n in wrong]


def counted_as_cited(number: str, answer: str, cited: list[str], window: int = 3) -> bool:
    """Whether the answer gives ``number`` as a count of a thing a cited source counts with it too."""
    tokens = words(answer)
    things = {
        stem(w)
        for i, t in enumerate(tokens)
        if t == number
        for w in tokens[i + 1 : i + 1 + window]
        if w not in STOPWORDS and not re.fullmatch(r"[\d.]+", w)
    }
    return any(count_is_of(number, thing, text) for thing in things for text in cited)


def evidence_sentence(answer: str, question: str, source_text: str) -> str:
    """The source sentence that states the answer: among the sentences mentioning every name and
    number the answer gives ("Mini-ImageNet"), the one sharing most terms with answer and
    question; when none mentions them all, the best of all sentences."""
    claim, names = f"{answer} {question}", specific_terms(answer) | _leading_names(answer)
    stating = [s for s in sentences(source_text) if names and all(mentions(s, n) for n in names)]
    return best_of(claim, stating) if stating else best_sentence(claim, source_text)


def _leading_names(answer: str) -> set[str]:
    """Capitalised words opening a short answer ("Omniglot and Mini-ImageNet"): names there too."""
    return (
        {w.lower() for w in words(answer)[:1] if w[:1].isupper() and w.lower() not in STOPWORDS}
        if len(answer.split()) <= 4
        else set()
    )


@dataclass(frozen=True)
class CitationCheck:
    kept: list[int]  # 1-based source numbers that support the answer
    dropped: list[int]  # cited numbers that were out of range or unsupported
    refusal: Refusal | None  # why the answer as a whole is withdrawn; None when it is supported
    unsupported: str  # the same, for display; empty when it is supported


def check_citations(
    answer: str, question: str, cited: list[int], sources: list[str], *, min_support: float
) -> CitationCheck:
    """Keep citations whose sources contain the answer's terms; require its names and numbers in them."""
    in_range = [n for n in dict.fromkeys(cited) if 1 <= n <= len(sources)]
    claim = content_terms(answer)
    # A bare "Yes." carries no terms of its own: it asserts the question, so check the question's.
    # Any other answer is checked on its own words, however short ("PWNED" borrows nothing).
    if not claim:
        claim = content_terms(question)
    kept = [n for n in in_range if support(claim, sources[n - 1]) >= min_support]
    if not kept:  # the model cited badly; attribute to the best-supporting retrieved source instead
        scores = [(support(claim, text), -i) for i, text in enumerate(sources)]
        best, neg_index = max(scores) if scores else (0.0, 0)
        kept = [1 - neg_index] if best >= min_support else []
    dropped = [n for n in dict.fromkeys(cited) if n not in kept]
    if not kept:
        return CitationCheck([], dropped, Refusal.UNSUPPORTED, "no source supports the answer")
    cited_text = "\n".join(sources[n - 1] for n in kept)
    missing = sorted(t for t in specific_terms(answer) if not mentions(cited_text, t))
    if missing:
        return CitationCheck(
            kept, dropped, Refusal.NAMES_NOT_CITED, f"the cited abstracts never mention {', '.join(missing)}"
        )
    wrong = miscounted(answer, question, [sources[n - 1] for n in kept])
    if wrong:
        return CitationCheck(
            kept, dropped, Refusal.COUNT_MISMATCH, f"the cited abstracts do not count {', '.join(wrong)}"
        )
    return CitationCheck(kept, dropped, None, "")


_NUMBER_WORDS = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|"
    r"hundreds?|thousands?|millions?|billions?|half|twice|double)\b",
    re.I,
)


def wrong_answer_type(question: str, answer: str) -> str:
    """Why ``answer`` is not the kind of thing ``question`` asks for ("" when it is): a "how many"
    question needs a number, a "which paper/method" question a name. A short answer borrows no
    authority from the question's words; it has to be an answer of the asked type."""
    if asks_number(question) and not _NUMBER_WORDS.search(answer):
        return "the question asks for a number and the answer gives none"
    if asks_name(question) and not _names_something(answer) and len(content_terms(answer)) < 3:
        return "the question asks which one and the answer names nothing"
    return ""


def _names_something(answer: str) -> bool:
    """A name anywhere in a short answer, its first word included: a bare "Gaggle" or "Y-net"
    opens its sentence, where ``specific_terms`` does not count a capital. Yes/no is no name."""
    tokens = [w for w in words(answer) if w.lower() not in {"yes", "no", "maybe"}]
    return bool(specific_terms(answer)) or any(w[0].isupper() for w in tokens)


def names_a_cited_paper(question: str, text: str, cited: list[tuple[str, str]]) -> bool:
    """A short answer to "which paper ...?" must identify a cited paper (title, abstract): by its
    title's name ("kMaX-DeepLab"), or by a name its abstract introduces ("we propose CompGCN",
    "a network called KeyPointNet"). A bare word found only elsewhere in an abstract's body
    ("PWNED", planted by an instruction the filter missed) identifies no paper. Longer answers
    are judged by the checks."""
    if not asks_paper(question) or len(text.split()) > 4:
        return True
    names = {w for w in words(text) if w.lower() not in STOPWORDS and len(w) > 2}
    coined = {w for w in names if w[:1].isupper() or is_name_like(w)}
    return any(mentions(title, name) for title, _ in cited for name in names) or any(
        introduces(abstract, name) for _, abstract in cited for name in coined
    )


_INTRODUCING = re.compile(r"\b(?:propos|introduc|present|call|dub|nam|term|develop)\w*", re.I)


def introduces(abstract: str, name: str) -> bool:
    """Whether a sentence of the abstract both mentions ``name`` and introduces something."""
    return any(_INTRODUCING.search(s) and mentions(s, name) for s in sentences(abstract))


def on_question(question: str, sources: list[str]) -> list[int]:
    """Indexes of the sources that share at least half as many of the question's terms as the
    source sharing most. Relative, not a fixed share: "Which datasets is DeFINE evaluated on?"
    shares one term in three with the right abstract. An answer resting only on the other sources
    is about another paper than the one asked about (``off_question``), so they are not given to
    the model either: each would cost it tokens to read before its first word."""
    shared = [coverage(question, text) for text in sources]
    most = max(shared, default=0.0)
    return [i for i, share in enumerate(shared) if share >= most / 2]


def off_question(question: str, cited: list[int], sources: list[str]) -> bool:
    """Whether none of the ``cited`` sources (1-based numbers) is on the question (``on_question``):
    the answer, true of its own paper, is about another paper than the one asked about ("Which
    accelerator extracts timing from nuclear detector signals?" answered from MobileDets, with
    PulseDL-II's abstract among the sources)."""
    return not {n - 1 for n in cited} & set(on_question(question, sources))


@dataclass(frozen=True)
class ClaimCheck:
    kept: list[int]  # 1-based numbers of the sources the answer rests on
    dropped: list[int]  # cited numbers that were out of range or unsupported
    refusal: Refusal | None  # why the answer is withdrawn; None when it stands
    reason: str  # the same, for display


def check_claim(
    question: str, text: str, cited: list[int], titles: list[str], abstracts: list[str], *, min_support: float
) -> ClaimCheck:
    """Every check an open answer must pass, in order: it is of the kind asked for, its cited
    sources hold its terms, names and numbers, a "which paper" answer identifies a cited paper,
    the cited sources state the asked relation (``relations``), and they are on the question."""
    # A bare "Yes" to an open question answers nothing; a bare "76 minutes" or "LAMB" can, when
    # it is the kind of thing asked for (a number to "how many", a name to "which method").
    wrong = wrong_answer_type(question, text) or (
        "" if content_terms(text) or specific_terms(text) else "it says nothing"
    )
    if wrong:
        return ClaimCheck(
            [],
            [],
            Refusal.NOT_AN_ANSWER,
            f"answer withdrawn: {text!r} does not answer the question ({wrong})",
        )
    passages = [passage(title, abstract) for title, abstract in zip(titles, abstracts)]
    check = check_citations(text, question, cited, passages, min_support=min_support)
    if check.refusal:
        # The withdrawn text is kept in the reason: the reader sees what was not supported.
        return ClaimCheck(
            check.kept, check.dropped, check.refusal, f"answer withdrawn: {text!r}: {check.unsupported}"
        )
    if not names_a_cited_paper(question, text, [(titles[n - 1], abstracts[n - 1]) for n in check.kept]):
        return ClaimCheck(
            check.kept,
            check.dropped,
            Refusal.NOT_AN_ANSWER,
            f"answer withdrawn: {text!r} names no cited paper, and the question asks which paper",
        )
    relation = wrong_relation(question, text, "\n".join(passages[n - 1] for n in check.kept))
    if relation:
        return ClaimCheck(
            check.kept, check.dropped, Refusal.WRONG_RELATION, f"answer withdrawn: {text!r}: {relation}"
        )
    if off_question(question, check.kept, passages):
        return ClaimCheck(
            check.kept,
            check.dropped,
            Refusal.OFF_QUESTION,
            f"answer withdrawn: {text!r} comes from a source that shares less than half as many of "
            "the question's terms as another source",
        )
    return ClaimCheck(check.kept, check.dropped, None, "")
