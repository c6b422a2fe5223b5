"""Scripted stand-ins for the model and the embedder, for the offline test tier.

``FakeLLM`` speaks the ``rag.llm.LLM`` protocol: each completion is the next scripted reply (or
what a function of the messages returns), every call is recorded, and a scored ``Choice`` is
decided from scripted log-probabilities. ``HashEmbedder`` maps words to fixed directions, so
texts sharing words are close: deterministic, instant, and good enough for retrieval over a
handful of papers.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Iterator, Sequence

import numpy as np

from rag import questions
from rag.llm import Options
from rag.planning import Plan

# A reply: the text, a function of the messages giving it, or (for ``samples``) the candidates.
Reply = str | list[str] | Callable[[list[dict]], str]


class FakeLLM:
    def __init__(self, replies: Sequence[Reply] | Reply = (), *,
                 scores: dict[str, float] | Callable[[list[dict]], dict[str, float]] | None = None,
                 name: str = "fake-llm"):
        self.replies = [replies] if isinstance(replies, str) or callable(replies) else list(replies)
        # log-probabilities of a scored choice's words, or a function of the messages giving them
        # (none: undecided)
        self.scores = scores or {}
        self.name = name
        self.sent: list[list[dict]] = []  # the messages of every completion, in order
        self.options: list[Options] = []
        self.counts: list[int] = []  # candidates asked of each ``samples`` call
        self.completes: list[Callable[[str], bool]] = []
        self.read_ahead_prompts: list[list[dict]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _reply(self, messages: list[dict]):
        """The next scripted reply, used up; a function left alone serves every call."""
        if not self.replies:
            raise AssertionError(f"FakeLLM has no reply left for: {messages[-1]['content'][:80]!r}")
        reply = self.replies[0] if callable(self.replies[0]) and len(self.replies) == 1 else self.replies.pop(0)
        return reply(messages) if callable(reply) else reply

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        """A scripted reply is the whole output, a choice's forced prefix included; a scored
        choice is decided from ``scores`` and yields its prefix and forced text only."""
        self.sent.append(messages)
        self.options.append(options)
        choice = options.choice
        if choice is not None and choice.options and choice.decide is not None:
            scores = self.scores(messages) if callable(self.scores) else self.scores
            if not scores:  # a model that exposes no scores leaves the choice undecided
                yield choice.prefix
                return
            choice.scores = {w: scores.get(w, -20.0) for w in choice.options}
            choice.chosen = choice.decide(dict(choice.scores))
            yield choice.prefix + choice.options[choice.chosen]
            return
        reply = self._reply(messages)
        for start in range(0, len(reply), 7):  # in pieces, as a model streams
            yield reply[start:start + 7]

    def complete(self, messages: list[dict], options: Options) -> str:
        return "".join(self.stream(messages, options))

    def samples(self, messages: list[dict], options: Options, *, count: int,
                complete: Callable[[str], bool] = lambda text: False) -> list[str]:
        """A list reply is the candidates themselves; any other reply serves every candidate."""
        self.sent.append(messages)
        self.options.append(options)
        self.counts.append(count)
        self.completes.append(complete)
        reply = self._reply(messages)
        return list(reply) if isinstance(reply, list) else [reply] * count

    def read_ahead(self, messages: list[dict], *, background: bool = True) -> bool:
        if messages in self.read_ahead_prompts:
            return False
        self.read_ahead_prompts.append(messages)
        return True


class HashEmbedder:
    """Each word (lower-cased, suffix -s dropped) adds a fixed random direction; rows are unit length."""

    name = "hash-embedder-test"
    dimensions = 384
    max_tokens = 256

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in zip(rows, texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                row += _direction(word[:-1] if len(word) > 3 and word.endswith("s") else word)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1, norms)


class RememberingEmbedder:
    """A real embedder whose vectors are remembered per text (the same vectors, computed once)."""

    def __init__(self, embedder):
        self.embedder = embedder
        self._seen: dict[str, np.ndarray] = {}
        self.name, self.dimensions, self.max_tokens = embedder.name, embedder.dimensions, embedder.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.embedder.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        new = [text for text in dict.fromkeys(texts) if text not in self._seen]
        if new:
            self._seen.update(zip(new, self.embedder.embed(new)))
        return np.stack([self._seen[text] for text in texts]) if texts else self.embedder.embed([])


_DIRECTIONS: dict[str, np.ndarray] = {}


def _direction(word: str) -> np.ndarray:
    if word not in _DIRECTIONS:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        _DIRECTIONS[word] = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return _DIRECTIONS[word]


def planned(question: str, hits: Sequence, history: Sequence = (), query: str | None = None) -> Plan:
    """The plan of ``question`` asked over ``hits`` (a new question unless ``query`` says otherwise)."""
    return Plan(question=questions.read(question), history=tuple(history), query=query or question,
                focus=query or question, hits=tuple(hits), named=False)
