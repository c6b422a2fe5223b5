"""Reading a question: what kind it is and what it asks for, decided once, in one place.

Every rule that looks at a question's wording lives here: whether it asks yes or no, asks for
a topic summary, refers back to the chat ("it", "the paper"), asks for a number, a name or a
paper. The pipeline plans an answer from the ``Question`` this returns (its kind); the checks
ask what the answer must be (``asks_number``, ``asks_name``, ``asks_paper``, ``counted_noun``) of
the text they judge, which for the gate is a follow-up joined to the question it follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .text import stem, words


class Kind(str, Enum):
    OPEN = "open"  # answered in the model's words, checked
    YES_NO = "yes-no"  # a verdict and the result sentence it rests on
    TOPIC = "topic"  # one checked point per relevant paper


@dataclass(frozen=True)
class Question:
    text: str
    kind: Kind
    topic: str | None  # what a topic question is about


def read(text: str) -> Question:
    topic = topic_of(text)
    kind = Kind.TOPIC if topic else Kind.YES_NO if is_yes_no(text) else Kind.OPEN
    return Question(text=text, kind=kind, topic=topic)


# ----- kinds ------------------------------------------------------------------------------------

_TOPIC_QUESTION = re.compile(
    r"^\s*(?:what\s+do\s+(?:these|the|my|our)\s+(?:abstracts|papers)\s+say\s+(?:about|on)"
    r"|summari[sz]e\s+what\s+(?:these|the)\s+(?:abstracts|papers)\s+say\s+(?:about|on)"
    r"|summari[sz]e\s+(?:the\s+)?(?:papers|abstracts|work|research)\s+(?:about|on)"
    r"|(?:give\s+(?:me\s+)?)?an?\s+overview\s+of)\s+(?P<topic>.+?)[\s?.!]*$",
    re.I,
)


def topic_of(question: str) -> str | None:
    """The topic of a "what do these abstracts say about X?" question, else None."""
    match = _TOPIC_QUESTION.match(question)
    return match.group("topic").strip() if match else None


_AUXILIARIES = (
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "can",
    "could",
    "should",
    "will",
    "would",
    "has",
    "have",
    "had",
    "may",
    "might",
    "must",
)
_WH_WORDS = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_REQUESTS = re.compile(r"^\W*(?:summari[sz]e|describe|list|explain|give|tell|compare|show|find|name)\b", re.I)


def is_yes_no(question: str) -> bool:
    """Whether the question's last sentence or clause opens with an auxiliary ("Biliary atresia:
    should all patients undergo surgery?", "In children, is it safe?", "Are sighted, low-vision and
    blind pedestrians accurate?"), or it is a question with no question word at all: an
    elliptical one ("Aripiprazole: a new risk factor for pathological gambling?", "Storage of
    vaccines: weak link in the cold chain?") asks whether, since it does not ask what or which."""
    # A quoted title is a name, whatever it holds ('the paper "TL;DR: Too Long, Do Re-weighting"').
    question = re.sub(r'"[^"]+"', "X", question)
    sentence = re.split(r"[:;.]\s+", question.strip())[-1]
    clause = re.split(r",\s+", sentence)[-1]
    if any(part.split(maxsplit=1)[0].lower() in _AUXILIARIES for part in (sentence, clause) if part.strip()):
        return True
    return (
        question.strip().endswith("?")
        and len(question.split()) >= 3
        and not _WH_WORDS.search(question)
        and not _REQUESTS.search(question)
    )


_REFERS_BACK = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|she|the paper|the method|"
    r"the model|the authors)\b",
    re.I,
)


def refers_back(question: str) -> bool:
    """Whether the question points at something earlier in the chat ("what dataset did it use?")."""
    return _REFERS_BACK.search(question) is not None


# ----- what is asked for ------------------------------------------------------------------------

# One vocabulary for "papers" in every rule below.
_PAPER_NOUNS = r"(?:papers?|works?|stud(?:y|ies)|articles?)"
_MANY_PAPER_NOUNS = r"(?:papers|works|studies|articles)"

_ASKS_NUMBER = re.compile(
    r"^\s*(?:how\s+(?:many|much|long|fast|large|big|small|often)\b|by\s+how\s+much\b|"
    r"what\s+(?:percentage|number|fraction|proportion|share|rate)\b)",
    re.I,
)
_ASKS_NAME = re.compile(
    r"^\s*(?:which|what)\s+(?:\w+\s+)?(?:" + _PAPER_NOUNS + r"|(?:method|model|approach|"
    r"framework|system|dataset|benchmark|technique|architecture|algorithm|optimi[sz]er|tool|"
    r"network)s?)\b",
    re.I,
)
_ASKS_PAPER = re.compile(r"^\s*(?:which|what)\s+(?:\w+\s+)?" + _PAPER_NOUNS + r"\b", re.I)
# Anywhere in the question: "In 2023, which papers use BERT?" names BERT to ask about other papers.
_ASKS_FOR_PAPERS = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?" + _PAPER_NOUNS + r"\b", re.I)
_ASKS_FOR_MANY = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?" + _MANY_PAPER_NOUNS + r"\b", re.I)


_ASKS_DATASETS = re.compile(
    r"\b(?:which|what)\s+(?:\w+\s+)?(?:data\s*sets?|benchmarks?|corpora|corpus|environments?)\b", re.I
)


def asks_datasets(question: str) -> bool:
    """Whether the question asks which datasets (benchmarks, corpora) something is evaluated on."""
    return _ASKS_DATASETS.search(question) is not None


def asks_number(question: str) -> bool:
    return _ASKS_NUMBER.search(question) is not None


def asks_name(question: str) -> bool:
    return _ASKS_NAME.search(question) is not None


def asks_paper(question: str) -> bool:
    """Whether the question opens by asking which paper: its answer must identify one it cites."""
    return _ASKS_PAPER.search(question) is not None


def asks_for_papers(question: str) -> bool:
    """Whether the question asks which paper(s) do something, anywhere in its wording."""
    return _ASKS_FOR_PAPERS.search(question) is not None


def asks_for_many_papers(question: str) -> bool:
    """Whether the question asks which papers (plural) do something: it pins no single title."""
    return _ASKS_FOR_MANY.search(question) is not None


_HOW_MANY = re.compile(
    r"\bhow\s+many\s+((?:[A-Za-z][\w\-]*\s+){0,3}?)(?:are|were|is|was|do|does|did|can|could|"
    r"has|have|had|will|would)\b",
    re.I,
)


def counted_noun(question: str) -> str | None:
    """The thing a "how many ... did it ..." question counts ("bugs" in "how many new bugs did it find")."""
    match = _HOW_MANY.search(question)
    nouns = words(match.group(1)) if match else []
    return stem(nouns[-1]) if nouns else None
