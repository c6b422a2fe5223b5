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
- the answer states the verdict and quotes the abstract's result sentence closest to the
  question, verbatim and cited: the reader sees the evidence, and a wrong verdict is visible
  next to the sentence that contradicts it, instead of hidden behind a restated question.
"""

from __future__ import annotations

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


def scores(llm: LLM, question: str, abstract: str) -> dict[str, float]:
    """The log-probabilities of "Yes", "No" and "Maybe" when ``llm`` is asked only what the
    abstract's results support ({} from a model that exposes no scores)."""
    results = " ".join(results_part(abstract))
    return scored(llm, prompts.verdict_messages(results, question), prompts.VERDICT_OPENING)[1]


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
