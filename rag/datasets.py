"""Which datasets: the names a source states its work is evaluated on, copied as written.

Asked "Which datasets is X evaluated on?", the 0.5B model often answers with the task or the
paper's own subject ("Deep Reinforcement Learning", "the task of visual question answering"):
every word is in the abstract, so the citation checks pass it, and it is wrong. A dataset is a
name, and an abstract says where it evaluates in a few set ways: "on ImageNet", "the Atari
games", "datasets such as MNIST, CIFAR-10 and SVHN". When an answer names nothing its cited
source writes as a name (beyond the question's and title's words), the answer becomes the names
the source puts in such places, copied as written (``qa.named_datasets``).
"""

from __future__ import annotations

import re

from .text import is_name_like, sentences

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-.]*[A-Za-z0-9](?:'s)?|[A-Za-z]|,")
# Words that come just before a dataset's name ("evaluated on", "datasets such as", "using") or
# just after it ("the Atari games", "the WMT benchmark").
_BEFORE = frozenset(
    "on dataset datasets benchmark benchmarks including include includes such as using".split()
)
_AFTER = frozenset(
    "dataset datasets benchmark benchmarks corpus environment environments game games suite tasks "
    "domain domains data".split()
)
_LIST_JOINS = frozenset({",", "and", "or"})


def _is_name(token: str, position: int, lower_words: set[str]) -> bool:
    """Written as a name: by ``is_name_like``, or capitalised inside a sentence and never written
    lower-case in the source ("Atari", "Omniglot"). A leading digit is a quantity ("8-bit")."""
    if token[0].isdigit():
        return False
    capitalised = token[0].isupper() and position > 0 and token.lower() not in lower_words
    return is_name_like(token) or capitalised


def _sentence_tokens(source: str) -> list[list[str]]:
    """Each sentence's tokens, a full stop stripped."""
    return [[t.rstrip(".") for t in _TOKEN.findall(sentence)] for sentence in sentences(source)]


def _lower_words(source: str) -> set[str]:
    return {w for w in _TOKEN.findall(source) if w.islower()}


def evaluated_on(source: str, known: str) -> list[str]:
    """The names ``source`` puts where a dataset is named (after "on", before "dataset", or in a
    list with one), in order, leaving out any word of ``known`` (the question and the title)."""
    lower_words = _lower_words(source)
    left_out = _left_out(known, source)
    found: list[str] = []
    for tokens in _sentence_tokens(source):
        last = -10  # position of the last name taken from this sentence
        for i, token in enumerate(tokens):
            if token == "," or token.lower() in left_out or not _is_name(token, i, lower_words):
                continue
            before = {t.lower() for t in tokens[max(0, i - 3) : i]}
            after = {t.lower() for t in tokens[i + 1 : i + 3]}
            listed = i - last <= 3 and all(t.lower() in _LIST_JOINS for t in tokens[last + 1 : i])
            if last == i - 1:  # a name of several words ("Penn Treebank", "Montezuma's Revenge")
                found[-1] = f"{found[-1]} {token}"
                last = i
            elif before & _BEFORE or after & _AFTER or listed:
                last = i
                found.append(token)
    return list(dict.fromkeys(found))


def names_any(answer: str, source: str, known: str) -> bool:
    """Whether ``answer`` names (in any case) something ``source`` writes as a name that is not a
    word of ``known``: a name the model chose from its source stands, even where ``evaluated_on``
    would not find it; an answer made of the title's words does not."""
    eligible = {n.lower() for n in _names(source)} - {w.lower() for w in _TOKEN.findall(known)}
    return any(t.rstrip(".").lower() in eligible for t in _TOKEN.findall(answer))


def _names(source: str) -> set[str]:
    lower_words = _lower_words(source)
    return {
        token
        for tokens in _sentence_tokens(source)
        for i, token in enumerate(tokens)
        if token != "," and _is_name(token, i, lower_words)
    }


def _left_out(known: str, source: str) -> set[str]:
    """The words of ``known`` (the question, the title) an answer may not rest on, except those
    the source itself writes as names: a title may name the dataset ("... on Atari")."""
    return {w.lower() for w in _TOKEN.findall(known)} - {n.lower() for n in _names(source)}


def names_one(answer: str, names: list[str]) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", answer) for name in names)


def listed(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
