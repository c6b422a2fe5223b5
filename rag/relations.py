"""Does the source state the relation the question asks about, or only its words?

The term checks pass an answer whose every word is in the cited abstract. A small model's wrong
answer is often exactly that: the right words, attached to another relation. Two question shapes
carry their relation in their grammar, and the sentence the answer rests on can be read for it:

- a direction: "By how much does X reduce Y?" answered with a number the source gives for an
  increase ("improves accuracy by 3% while reducing tokens by 60%": 3% does not answer "reduce");
- roles: "Which method does B outperform?" answered "A" from "A outperforms B": the source states
  the relation with the roles reversed.

Each rule speaks when the source clearly shows the other relation, and, for these two shapes,
when the source states the asked relation for something else: the asked change of another
quantity ("reduces compute by 5x" does not answer "by how much does it reduce accuracy?"), or a
comparison whose sides do not hold the asked subject and the answer. Anything a rule cannot read
passes (the model and the other checks decide): a number found in no sentence, a sentence with no
change word, a subject given as a paper's title.
"""

from __future__ import annotations

import re

from .text import STOPWORDS, content_terms, fold, mentions, sentences, stem, words

# Words that state a change up or down, by their stems ("reduc" covers reduces, reduction, ...).
# Not "more" or "less": "by more than 50%" states no direction.
_DOWN = ("reduc", "decreas", "lower", "cut", "shrink", "sav", "drop", "declin", "degrad", "fewer")
_UP = ("increas", "improv", "boost", "rais", "gain", "enhanc", "grow", "outperform", "surpass", "higher")
# Comparisons, whose sides matter: "A outperforms B" says nothing B outperforms.
_COMPARES = ("outperform", "surpass", "beat", "exceed", "outpac", "outscor", "dominat")
_ASKED_DIRECTION = re.compile(r"\bby how much does (?P<rest>.+)", re.I)
_ASKED_ROLES = re.compile(r"^which \w+ does (?P<subject>.+?) (?P<verb>\w+)\??$", re.I)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z]+")


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
    """ "By how much does X <verb> Y?": the change the source gives the answer's number for must
    go the asked way and be a change of Y. A change word before the number ("reduces latency by
    54%") or just after it ("a 54% reduction in latency") is the one the number belongs to."""
    asked = _ASKED_DIRECTION.search(fold(question))
    if asked is None:
        return ""
    # The asked verb is the first change word after "does": the subject may be several words
    # ('the paper "Optimized Minimal 3D Gaussian Splatting"').
    rest = asked.group("rest")
    verb = next((m for m in _WORD.finditer(rest) if _direction(m.group())), None)
    numbers = _NUMBER.findall(answer)
    if verb is None or not numbers:
        return ""
    direction, quantity = _direction(verb.group()), content_terms(rest[verb.end() :]) - {"paper"}
    asked_first = _changed_words(rest[verb.end() :])
    other_way = other_quantity = no_change = ""
    for sentence in sentences(source_text):
        for number in numbers:
            changes = _changes_at(sentence, number)
            if not changes and _mentions_number(sentence, number):
                no_change = number
            for change, window in changes:
                if change != direction:
                    other_way = number
                elif _of_quantity(window, quantity, asked_first):
                    return ""
                else:
                    other_quantity = number
    if other_way:
        return f"the source gives {other_way} for a change the other way than {verb.group()!r}"
    if no_change and not other_quantity:
        return f"the source gives {no_change} for no change at all ({verb.group()!r} asked)"
    if other_quantity:
        asked_quantity = " ".join(sorted(quantity))
        return f"the source gives {other_quantity} for a change of something other than {asked_quantity!r}"
    return ""


def _number_at(number: str) -> re.Pattern:
    # not the digit of a name ("C4", "T5")
    return re.compile(rf"(?<![\w.]){re.escape(number)}(?![\d])")


def _mentions_number(sentence: str, number: str) -> bool:
    return bool(_number_at(number).search(sentence))


def _changes_at(sentence: str, number: str) -> list[tuple[str, str]]:
    """(direction, the words it governs) of the change each mention of ``number`` belongs to: the
    nearest change word before it, with the words between; or the word right after it, with the
    six words after that."""
    found = []
    for at in _number_at(number).finditer(sentence):
        before = list(_WORD.finditer(sentence[: at.start()]))
        changes = [(m, d) for m in before if (d := _direction(m.group()))]
        if changes:
            word, direction = changes[-1]
            found.append((direction, sentence[word.end() : at.start()]))
        after = _WORD.findall(sentence[at.end() :])
        # "54% reduction", "54% lower": not "54%, improving ...", which starts another clause.
        if after and not after[0].endswith("ing") and (direction_after := _direction(after[0])):
            found.append((direction_after, " ".join(after[1:7])))
    return found


def _changed_words(window: str) -> list[str]:
    return [stem(w) for w in words(window) if w.lower() not in STOPWORDS and len(w) > 2]


def _of_quantity(window: str, quantity: set[str], asked_first: list[str]) -> bool:
    """Whether most of the asked quantity's words are among the first four content words of
    ``window``: what changes comes right after the change word ("reduces the amount of compute
    needed to reach the same accuracy by 5x" changes the compute, not the accuracy; "intratopic
    similarity" is not "intertopic similarity"); or whether the window's words, two or more, are the
    asked quantity's first ones, the question adding where ("the training cost of T5 at 500M
    parameters" asked, "reducing the training cost by 4X" stated)."""
    if not quantity:
        return True
    changed = _changed_words(window)
    if 2 * len(quantity & set(changed[:4])) > len(quantity):
        return True
    return len(set(changed)) >= 2 and set(changed) == set(asked_first[: len(changed)])


def _reversed_roles(question: str, answer: str, source_text: str) -> str:
    """ "Which X does S V?": the source must not have S only on the receiving end of V ("A
    outperforms S"); and for a comparison, some sentence must put S before V and the answer
    after it."""
    asked = _ASKED_ROLES.match(fold(question).strip())
    if not asked:
        return ""
    subject, verb = asked.group("subject").strip(), asked.group("verb").lower()[:6]
    # What the answer names beside the asked subject ("MASt3R outperforms DUSt3R" names DUSt3R).
    subject_words = {w.lower() for w in words(subject)}
    named = " ".join(w for w in words(answer.split(":", 1)[0]) if w.lower() not in subject_words)
    orders, stated = [], False
    for sentence in sentences(source_text):
        at_verb, at_subject = sentence.lower().find(verb), sentence.find(subject)
        if at_verb >= 0 and at_subject >= 0:
            orders.append(at_subject < at_verb)
            stated = stated or (at_subject < at_verb and _names_any(sentence[at_verb:], named))
    if orders and not any(orders):
        return f"the source has {subject} on the receiving end of {asked.group('verb')!r}, not doing it"
    compares = asked.group("verb").lower().startswith(_COMPARES)
    compares = compares and not subject.lower().startswith(("the ", "this ", "our "))
    if compares and not named.strip():
        return f"the answer names only {subject}, the one asked about"
    if compares and not stated:
        return f"no source sentence states that {subject} {asked.group('verb')}s {named.strip()!r}"
    return ""


def _names_any(text: str, named: str) -> bool:
    """Whether ``text`` mentions any word of the answer's name."""
    return any(mentions(text, w) for w in words(named) if w.lower() not in {"the", "a", "an", "and", "of"})
