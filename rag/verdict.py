"""Yes/no answers: a verdict decided from what the abstract's results support, stated with the
result sentence it rests on.

Asked under the answer prompt (JSON, citation rules), the 0.5B model opens nearly every answer
with "Yes" and its Yes/No scores carry no evidence (AUC 0.48 with the right abstract given), and
the sentence it writes after a forced "Yes." restates the question as if it were the finding,
which no citation check can catch since its words are the question's. So a yes/no question is
answered differently from an open one:

- the verdict comes from the log-probabilities of "Yes", "No" and "Maybe" under a short prompt
  that asks only what the *results* support, over the abstract's last sentences (where results
  and conclusions are; bench/verdict_prompts.py measures the prompts);
- the words are offered in both orders ("yes or no", "no or yes") and the verdict is shown only
  when it leads their mean clearly and the finding's wording does not contradict it
  (``Evidence.confidence``, settings.verdict_min_confidence); otherwise the finding stands alone;
- the answer states the verdict and quotes the abstract's result sentence closest to the
  question, verbatim and cited: the reader sees the evidence, and a wrong verdict is visible
  next to the sentence that contradicts it, instead of hidden behind a restated question.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from . import prompts
from .llm import LLM, Choice, Options
from .text import best_of, sentences

WORDS = ("Yes", "No", "Maybe")
# What a "maybe" answer opens with: the reader learns the abstract is not conclusive, then the finding.
UNCLEAR = "The abstract does not state a clear yes or no"
# The abstract's last sentences, where its results and conclusion are: what the verdict is decided
# from and where the quoted finding comes from. A PubMedQA abstract has about twelve sentences.
RESULTS_SENTENCES = 4

_ANY_TEXT = 'root ::= [^"]*'  # the one token generated after a verdict probe is not used


def results_part(abstract: str) -> list[str]:
    return sentences(abstract)[-RESULTS_SENTENCES:] or [abstract]


def scored(llm: LLM, messages: list[dict], opening: str) -> tuple[str | None, dict[str, float]]:
    """The most probable of the verdict words where the reply ``opening`` ends, and their
    log-probabilities; (None, {}) from a model that exposes no scores."""
    probe = Choice(
        prefix=opening,
        options={w: "" for w in WORDS},
        decide=lambda log_probs: max(log_probs, key=lambda word: log_probs[word]),
        grammar=_ANY_TEXT,
    )
    for _ in llm.stream(messages, Options(max_tokens=1, choice=probe)):
        pass
    return probe.chosen, dict(probe.scores)


# The verdict prompt offers the two words in both orders: a small model leans to the word offered
# first, and a verdict that changes with the order is the position's, not the evidence's.
ORDERS = (("yes", "no"), ("no", "yes"))


# No-difference and negation wording ("not only ... but also" affirms): a finding that says "no
# significant difference" does not read as a "Yes", and one without any such word does not read
# as a "No". Alone it is a weak signal (right on about 60%); as a veto on the model's verdict it
# raises the precision of the verdicts shown (bench/verdict_cv.py).
_NEGATIVE_WORDING = re.compile(
    r"\b(no|not(?! only)|nor|neither|without|never|none|cannot|failed to|unchanged|unrelated|independent of|"
    r"similar|comparable|insignificant|nonsignificant|non-significant)\b|n't\b",
    re.I,
)


def negative_wording(sentence: str) -> bool:
    return bool(_NEGATIVE_WORDING.search(sentence))


@dataclass(frozen=True)
class Evidence:
    """What a verdict is decided from: the words' log-probabilities under each order asked
    (``ORDERS``), and the finding sentence the answer quotes."""

    orders: list[dict[str, float]] = field(default_factory=list)
    finding: str = ""

    def probabilities(self) -> list[dict[str, float]]:
        """Each order's scores as probabilities of the three words among themselves."""
        out = []
        for log_probs in self.orders:
            total = sum(math.exp(lp) for lp in log_probs.values())
            out.append({w: math.exp(lp) / total for w, lp in log_probs.items()})
        return out

    def mean(self) -> dict[str, float]:
        """The words' log-probabilities averaged over the orders ({} without scores)."""
        each = self.probabilities()
        if not each or not all(each):
            return {}
        return {w: math.log(sum(p[w] for p in each) / len(each)) for w in WORDS}

    def word(self, no_margin: float = 0.0) -> str | None:
        """The verdict of the orders' mean probabilities (``decide``); None without scores."""
        return decide(self.mean(), no_margin)

    def lead(self, no_margin: float = 0.0) -> float:
        """The verdict word's lead over the next word in the orders' mean probabilities (a
        verdict that flips with the order leads by little); -1 without scores."""
        mean = self.mean()
        word = decide(mean, no_margin)
        if word is None:
            return -1.0
        probabilities = {w: math.exp(lp) for w, lp in mean.items()}
        return probabilities[word] - max(p for w, p in probabilities.items() if w != word)

    def contradicted(self, no_margin: float = 0.0) -> bool:
        """Whether the finding's wording says otherwise: a "Yes" over a finding with negation or
        no-difference wording, a "No" over one without any."""
        word = self.word(no_margin)
        return word in ("Yes", "No") and negative_wording(self.finding) != (word == "No")

    def confidence(self, no_margin: float = 0.0) -> float:
        """How clearly the evidence decides: ``lead``, or -1 when the finding's wording
        contradicts the verdict (bench/verdict_cv.py compares the ways tried)."""
        return -1.0 if self.contradicted(no_margin) else self.lead(no_margin)


def evidence(llm: LLM, question: str, abstract: str) -> Evidence:
    """The verdict words' scores under the verdict prompt in both orders, over the abstract's
    results part; the second order reads only the prompt's last words (the rest is held)."""
    results = " ".join(results_part(abstract))
    orders = [
        scored(llm, prompts.verdict_messages(results, question, order), prompts.VERDICT_OPENING)[1]
        for order in ORDERS
    ]
    return Evidence(orders=orders, finding=finding(question, abstract))


def decide(log_probs: dict[str, float], no_margin: float) -> str | None:
    """ "Maybe" when it is the most probable word; else "No" when its log-probability exceeds
    "Yes"'s by more than ``no_margin`` (the model's own lean, settings.verdict_no_margin), else
    "Yes". None without scores."""
    if not log_probs:
        return None
    if max(WORDS, key=lambda w: log_probs.get(w, float("-inf"))) == "Maybe":
        return "Maybe"
    return "No" if log_probs["No"] - log_probs["Yes"] > no_margin else "Yes"


def finding(question: str, abstract: str) -> str:
    """The result sentence the verdict rests on: of the abstract's last sentences, the one that
    shares most terms with the question (the later one on a tie: conclusions come last)."""
    return best_of(question, results_part(abstract), last_on_tie=True)


def stated(word: str | None, sentence: str) -> str:
    """The answer a reader sees: the verdict, then the abstract's own sentence in quotes."""
    quote = f"\u201c{sentence.strip()}\u201d"
    if word == "Maybe":
        return f"{UNCLEAR}. It reports: {quote}"
    if word in ("Yes", "No"):
        return f"{word}. The abstract reports: {quote}"
    return f"The abstract reports: {quote}"


def of_text(text: str) -> str | None:
    """The verdict an answer states in words: its first word, or the unclear-evidence opening."""
    if text.strip().startswith(UNCLEAR):
        return "maybe"
    first = text.strip().split(maxsplit=1)[0].strip(".,:;!").lower() if text.strip() else ""
    return first if first in {"yes", "no", "maybe"} else None
