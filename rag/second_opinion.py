"""When a draft answer is in doubt: the answer model (the 0.5B) drafts every open answer, and the
larger verdict model (the 1.5B) answers again only where the draft is in doubt.

A draft is in doubt when it did not survive generation (the checks withdrew it, or the model
declined: the 0.5B refuses some figures its abstract states), or when it is a bare figure and
the larger model, shown the draft's cited sentence under the paper's title, does not find that
the sentence states it as the answer to the question. That check is one short prompt (~130
tokens), scored rather than generated: about 1 s on 2 cores, where the larger model reading every
source takes about 3.4 s before its first word. It catches the 0.5B's typical error, a figure from
the right abstract that answers another question ("59" bugs, the baseline's, asked about DocTer's
own 94), which every term-in-source check passes. Figures: bench/seed_facts.py, docs/benchmarks.md.
"""

from __future__ import annotations

import math
import re

from . import prompts
from .answer import Citation, Refusal
from .llm import LLM
from .verdict import scored

# A number standing alone ("59", "1.7 mAP", "99.9%"), not a name's digits ("CIFAR10", "T5"). A
# hyphenated name's ("ResNet-50") are read as one on purpose: on the factoid set that sent
# "ResNet-18, ResNet-50, GoogLeNet", drafted as a paper's datasets, to the 1.5B, which said ImageNet.
_FIGURE = re.compile(r"(?<![A-Za-z\d.])\d")


def support(llm: LLM, question: str, claim: str, citation: Citation) -> float | None:
    """The model's probability that ``citation``'s sentence states ``claim`` as the answer to
    ``question`` (Yes against No); None from a model that exposes no scores."""
    messages = prompts.support_messages(citation.title, citation.sentence, question, claim)
    _, log_probs = scored(llm, messages, "")
    if "Yes" not in log_probs or "No" not in log_probs:
        return None
    return 1.0 / (1.0 + math.exp(log_probs["No"] - log_probs["Yes"]))


def doubt(
    question: str,
    fact: str,
    citations: list[Citation],
    refusal: Refusal | None,
    llm: LLM,
    min_support: float,
) -> str:
    """Why a draft is in doubt, or "" when it stands. ``refusal``: why the draft was refused or
    withdrawn, if it was. ``fact`` is the draft's bare name or number;
    only a figure ("59", "1.7 mAP") is checked, the answer the 0.5B takes from the wrong place
    when its abstract gives several. A bare name is left to the name checks (on the factoid set the
    1.5B doubted right dataset and paper names and gained nothing there; a name from the cited
    title answers "which paper" though its sentence need not say what was asked); a draft
    written as a sentence restates its source and is left to the checks too (on the how-questions
    of bench/latency.py, checking those sent most to the larger model and doubled the median
    answer's time)."""
    if refusal is Refusal.WRONG_RELATION:
        # The source was found to state another relation than the one asked: a finding about the
        # source, which the larger model reads too. On the relation traps it answered 9 such
        # drafts by asserting the relation anyway ("RAG outperforms FB-RAG"); on the factoid and
        # seed sets no such draft became a right answer.
        return ""
    if refusal is not None:
        return "the draft answer was refused or withdrawn"
    if not citations or not _FIGURE.search(fact):
        return ""
    supported = support(llm, question, fact, citations[0])
    if supported is None or supported >= min_support:
        return ""
    return f"its cited sentence did not state the draft {fact!r} (support {supported:.2f})"
