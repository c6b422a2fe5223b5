"""Yes/no verdicts decided from the model's scores, not from whatever word it happens to start with.

A 0.5B model opens nearly every answer with "Yes" (388 of 455 PubMedQA dev answers did), so its
first word says more about the model than about the abstract. Instead the pipeline reads the
log-probabilities of "Yes", "No" and "Maybe" at the start of the answer and divides out the
model's bias, measured on a content-free prompt (the same instructions with "N/A" for the
sources and the question: contextual calibration, Zhao et al. 2021). No labels are used, so the
method carries over to other question sets. The chosen verdict is then forced as the answer's
opening and the model goes on to say why.
"""

from __future__ import annotations

import math
import threading

from . import prompts
from .llm import LLM, Choice

WORDS = ("Yes", "No", "Maybe")
# What a "maybe" answer opens with: the reader learns the abstract is not conclusive, then the finding.
UNCLEAR = "The abstract does not state a clear yes or no:"
# After a bare "Yes" the 0.5B model closes the answer, and after "Yes," it writes "No": an opening
# that asks for the finding makes it go on to the result that decides the question.
OPENINGS = {"Yes": "Yes. The abstract reports that", "No": "No. The abstract reports that", "Maybe": UNCLEAR}

_ANY_TEXT = 'root ::= [^"]*'  # the one token generated after a verdict probe is not used

_BASELINES: dict[str, dict[str, float] | None] = {}  # model name -> content-free probabilities
_BASELINES_LOCK = threading.Lock()


def probabilities(log_probs: dict[str, float]) -> dict[str, float]:
    """The three words' probabilities renormalised among themselves."""
    peak = max(log_probs.values())
    weights = {w: math.exp(lp - peak) for w, lp in log_probs.items()}
    total = sum(weights.values())
    return {w: v / total for w, v in weights.items()}


def calibrated(log_probs: dict[str, float], baseline: dict[str, float] | None) -> dict[str, float]:
    """Probabilities with the content-free bias divided out (Zhao et al.'s diagonal calibration)."""
    p = probabilities(log_probs)
    if not baseline:
        return p
    q = {w: p[w] / max(baseline.get(w, 1.0), 1e-6) for w in p}
    total = sum(q.values())
    return {w: v / total for w, v in q.items()}


def decide(log_probs: dict[str, float], baseline: dict[str, float] | None) -> str:
    scores = calibrated(log_probs, baseline)
    return max(WORDS, key=lambda w: scores.get(w, 0.0))


def content_free_messages() -> list[dict]:
    """The QA prompt with nothing in it: what the model says then is its bias, not evidence."""
    return [{"role": "system", "content": prompts.QA_SYSTEM},
            {"role": "user", "content": prompts.qa_user_message([("N/A", "N/A")], "N/A?", [], yes_no=True)}]


def baseline(llm: LLM) -> dict[str, float] | None:
    """The model's content-free verdict probabilities, measured once per model (one short prompt);
    None for a model that exposes no scores."""
    with _BASELINES_LOCK:
        if llm.name not in _BASELINES:
            probe = choice(None)
            for _ in llm.stream(content_free_messages(), max_tokens=1, json_schema=prompts.QA_SCHEMA, choice=probe):
                pass
            _BASELINES[llm.name] = probabilities(probe.scores) if probe.scores else None
        return _BASELINES[llm.name]


def baselines() -> dict[str, dict[str, float] | None]:
    """The content-free probabilities measured so far, per model (for evaluation reports)."""
    with _BASELINES_LOCK:
        return dict(_BASELINES)


def choice(base: dict[str, float] | None) -> Choice:
    """The in-generation choice of the answer's opening word for a yes/no question."""
    return Choice(prefix=prompts.QA_ANSWER_PREFIX, options=dict(OPENINGS),
                  decide=lambda log_probs: decide(log_probs, base), grammar=prompts.QA_CONTINUATION_GRAMMAR)


def scored(llm: LLM, messages: list[dict], opening: str) -> tuple[str | None, dict[str, float]]:
    """The most probable of the verdict words where the reply ``opening`` ends, and their
    log-probabilities; (None, {}) from a model that exposes no scores."""
    probe = Choice(prefix=opening, options={w: "" for w in WORDS},
                   decide=lambda log_probs: max(log_probs, key=log_probs.get), grammar=_ANY_TEXT)
    for _ in llm.stream(messages, max_tokens=1, choice=probe):
        pass
    return probe.chosen, dict(probe.scores)


def from_results(llm: LLM, question: str, abstract: str) -> tuple[str | None, dict[str, float]]:
    """The verdict ``llm`` gives when asked only what the abstract's results support, as its most
    probable word (no calibration: the prompt, not a correction of the scores, is what carries
    the evidence), and the scores."""
    return scored(llm, prompts.verdict_messages(abstract, question), prompts.VERDICT_OPENING)


def forced(word: str) -> Choice:
    """The answer's opening for a verdict decided beforehand."""
    return Choice(prefix=prompts.QA_ANSWER_PREFIX, options={word: OPENINGS[word]}, decide=lambda _: word,
                  grammar=prompts.QA_CONTINUATION_GRAMMAR)


def of_text(text: str) -> str | None:
    """The verdict an answer states in words: its first word, or the unclear-evidence opening."""
    if text.strip().startswith(UNCLEAR.rstrip(":")):
        return "maybe"
    first = text.strip().split(maxsplit=1)[0].strip(".,:;!").lower() if text.strip() else ""
    return first if first in {"yes", "no", "maybe"} else None
