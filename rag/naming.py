"""Which papers a question names: by a quoted title, or by the name a title opens with.

A reader who writes `Which datasets is the paper "Prototypical Bregman Networks" evaluated
on?` or `What does MultiGrain reach on ImageNet?` has said which paper the answer must come
from. Retrieval ranks the whole store by closeness to the question, so a neighbouring abstract
that lists datasets can outrank the named one, and the model then answers from the wrong paper
(factoid dev set, docs/benchmarks.md). Answering from the named paper alone keeps its facts
apart from its neighbours'.
"""

from __future__ import annotations

import re

from .grounding import STOPWORDS
from .paper import title_key

# Double quotes, straight or curly, around at least two words: single quotes are apostrophes too.
_QUOTED = re.compile(r"[\"“”]([^\"“”]+?\s[^\"“”]+?)[\"“”]")
# A title's lead ("MultiGrain: a unified image embedding ...") is a name when it is written
# like one: a capital or digit inside a word, a capital before a hyphen, or several capitalised
# words. A single ordinary word ("Attention: ...", "Aripiprazole: ...") is a topic, not a name.
_NAME_LIKE = re.compile(r"\w[A-Z0-9]|[A-Z]-|-[A-Z0-9]")
_MAX_LEAD_WORDS = 4
# "Which papers improve on BERT?" names BERT to ask about other papers.
_ASKS_FOR_PAPERS = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?:papers?|works?|studies|study|articles?)\b", re.I)


def quoted_titles(question: str) -> list[str]:
    """The normalised text of each phrase the question puts in double quotes."""
    return [key for key in (title_key(q) for q in _QUOTED.findall(question)) if len(key.split()) >= 2]


def lead_name(title: str) -> str | None:
    """The name a title opens with before its colon, when it is written like a name."""
    lead, colon, _ = title.partition(":")
    lead = lead.strip()
    words = lead.split()
    if not colon or not words or len(words) > _MAX_LEAD_WORDS:
        return None
    capitalised = len(words) >= 2 and all(w[:1].isupper() or not w[:1].isalpha() for w in words)
    return lead if capitalised or _NAME_LIKE.search(lead) else None


def names_paper(question: str, title: str) -> bool:
    """Whether the question names the paper with this title.

    A quoted phrase names it when it is the title, or at least three of its words in a row
    (a title quoted without its subtitle); the title's lead name names it when the question
    writes it exactly, as a word of its own, and does not ask for papers ("which papers use
    BERT?" is about other papers).
    """
    key = f" {title_key(title)} "
    for phrase in quoted_titles(question):
        if key.strip() == phrase or (len(phrase.split()) >= 3 and f" {phrase} " in key):
            return True
    lead = lead_name(title)
    if not lead or _ASKS_FOR_PAPERS.search(question):
        return False
    return re.search(rf"(?<![\w-]){re.escape(lead)}(?![\w-])", question) is not None


def search_words(question: str) -> list[str]:
    """Words to find candidate titles by: the quoted phrases' words and the question's
    capitalised or name-like words (a lead name is among them when the question names one)."""
    quoted = [w for phrase in quoted_titles(question) for w in phrase.split()]
    named = [w for w in re.findall(r"[\w-]+", question) if w[:1].isupper() or _NAME_LIKE.search(w)]
    return list(dict.fromkeys(w.lower() for w in quoted + named if w.lower() not in STOPWORDS))
