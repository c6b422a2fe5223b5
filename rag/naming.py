"""Which papers a question names: by a quoted or written-out title, or by the name a title opens with.

A reader who writes `Which datasets is the paper "Prototypical Bregman Networks" evaluated
on?` or `What does MultiGrain reach on ImageNet?` has said which paper the answer must come
from. Retrieval ranks the whole store by closeness to the question, so a neighbouring abstract
that lists datasets can outrank the named one, and the model then answers from the wrong paper
(factoid dev set, docs/benchmarks.md). Answering from the named paper alone keeps its facts
apart from its neighbours'.
"""

from __future__ import annotations

import re

from .paper import title_key
from .questions import asks_for_many_papers, asks_for_papers
from .text import STOPWORDS

# Double quotes, straight or curly, around at least two words: single quotes are apostrophes too.
_QUOTED = re.compile(r"[\"“”]([^\"“”]+?\s[^\"“”]+?)[\"“”]")
# A title's lead ("MultiGrain: a unified image embedding ...") is a name when it is written
# like one: a capital or digit inside a word, a capital before a hyphen, an identifier
# ("simple_rl"), or several capitalised
# words. A single ordinary word ("Attention: ...", "Aripiprazole: ...") is a topic, not a name.
_NAME_LIKE = re.compile(r"\w[A-Z0-9]|[A-Z]-|-[A-Z0-9]|\w_\w")
_MAX_LEAD_WORDS = 4
_MIN_WRITTEN_WORDS = 4


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
    (a title quoted without its subtitle); so does the whole title or subtitle written out
    unquoted (``_writes_out``); the title's lead name names it when the question
    writes it exactly, as a word of its own, and does not ask for papers ("which papers use
    BERT?" is about other papers).
    """
    key = f" {title_key(title)} "
    for phrase in quoted_titles(question):
        if key.strip() == phrase or (len(phrase.split()) >= 3 and f" {phrase} " in key):
            return True
    if _writes_out(question, title):
        return True
    lead = lead_name(title)
    if not lead or asks_for_papers(question):
        return False
    return re.search(rf"(?<![\w-]){re.escape(lead)}(?![\w-])", question) is not None


def _writes_out(question: str, title: str) -> bool:
    """Whether the question writes the whole title, or its whole subtitle, without quotes ("Which
    paper proposes training very sparse deep networks?" for "Deep Rewiring: Training very sparse
    deep networks"): four words or more in a row, which a question about many papers does not
    pin to one."""
    if asks_for_many_papers(question):
        return False
    asked = f" {title_key(question)} "
    parts = (title_key(title), title_key(title.partition(":")[2]))
    return any(len(part.split()) >= _MIN_WRITTEN_WORDS and f" {part} " in asked for part in parts)


def search_words(question: str) -> list[str]:
    """Words to find candidate titles by: the question's words but stopwords (a quoted or
    written-out title's words, a lead name among them)."""
    return list(dict.fromkeys(w for w in title_key(question).split() if w not in STOPWORDS))
