"""Does the source state the relation the question asks about, or only its words?

The term checks pass an answer whose every word is in the cited abstract. A small model's wrong
answer is often exactly that: the right words, attached to another relation. Two question shapes
carry their relation in their grammar, and the sentence the answer rests on can be read for it:

- a direction: "By how much does X reduce Y?" answered with a number the source gives for an
  increase ("improves accuracy by 3% while reducing tokens by 60%": 3% does not answer "reduce");
- roles: "Which method does B outperform?" answered "A" from "A outperforms B": the source states
  the relation with the roles reversed.

Each rule speaks only when the source sentence clearly shows the other relation; anything it
cannot read passes (the model and the other checks decide).
"""

from __future__ import annotations

import re

from .text import fold, sentences

# Words that state a change up or down, by their stems ("reduc" covers reduces, reduction, ...).
_DOWN = ("reduc", "decreas", "lower", "cut", "shrink", "sav", "drop", "declin", "degrad")
_UP = ("increas", "improv", "boost", "rais", "gain", "enhanc", "grow", "outperform", "surpass")
_ASKED_DIRECTION = re.compile(r"\bby how much does (?P<rest>.+)", re.I)
_ASKED_ROLES = re.compile(r"^which \w+ does (?P<subject>.+?) (?P<verb>\w+)\??$", re.I)
_NUMBER = re.compile(r"\d+(?:\.\d+)?\s?(?:%|x|×)?")


def _direction(word: str) -> str | None:
    word = word.lower()
    if word.startswith(_DOWN):
        return "down"
    if word.startswith(_UP):
        return "up"
    return None


def wrong_relation(question: str, answer: str, source_text: str) -> str:
    """Why the source states another relation than the one asked about ("" when it does not)."""
    return _wrong_direction(question, answer, source_text) or _reversed_roles(question, answer, source_text)


def _wrong_direction(question: str, answer: str, source_text: str) -> str:
    """The asked verb goes one way; the change the source gives the answer's number for goes the
    other (the nearest change word before the number in its sentence)."""
    asked = _ASKED_DIRECTION.search(fold(question))
    if asked is None:
        return ""
    # The asked verb is the first change word after "does": the subject may be several words
    # ('the paper "Optimized Minimal 3D Gaussian Splatting"').
    verb = next((w for w in re.findall(r"[A-Za-z]+", asked.group("rest")) if _direction(w)), "")
    direction = _direction(verb) if verb else None
    numbers = [n.strip() for n in _NUMBER.findall(answer)]
    if direction is None or not numbers:
        return ""
    for sentence in sentences(source_text):
        for number in numbers:
            at = sentence.find(number)
            if at < 0:
                continue
            changes = [d for w in re.findall(r"[A-Za-z]+", sentence[:at]) if (d := _direction(w))]
            if changes and changes[-1] != direction:
                return f"the source gives {number} for a change the other way than {verb!r}"
    return ""


def _reversed_roles(question: str, answer: str, source_text: str) -> str:
    """ "Which X does S V?" over a source whose every sentence with S and V has S after V: the
    source states S as what is V-ed ("A outperforms S"), never as the one that V-s."""
    asked = _ASKED_ROLES.match(fold(question).strip())
    if not asked:
        return ""
    subject, verb = asked.group("subject").strip(), asked.group("verb").lower()[:6]
    orders = []
    for sentence in sentences(source_text):
        at_verb, at_subject = sentence.lower().find(verb), sentence.find(subject)
        if at_verb >= 0 and at_subject >= 0:
            orders.append(at_subject < at_verb)
    if orders and not any(orders):
        return f"the source has {subject} on the receiving end of {asked.group('verb')!r}, not doing it"
    return ""
