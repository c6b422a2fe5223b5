"""What the pipeline needs of a language model, and the one options object every call takes.

``LocalLLM`` (llama.cpp in process) and ``remote.RemoteLLM`` (an OpenAI-compatible server) both
provide ``LLM``. Non-streaming is the joined stream: ``complete`` never generates on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

# Sampling settings of every completion, streamed or decoded together: llama-cpp-python's chat
# handler defaults, which every measured figure was made with.
TOP_K, TOP_P, MIN_P, REPEAT_PENALTY = 40, 0.95, 0.05, 1.1


@dataclass
class Choice:
    """A decision taken inside a generation from the model's own next-token scores.

    The model reads the prompt and ``prefix`` (the opening of its output, such as the start of
    the answer string); the log-probability of each option word's first token is read off the
    logits just computed, ``decide`` picks an option from them, and generation continues after
    ``prefix`` and that option's forced text, constrained by ``grammar`` (GBNF for the rest of
    the output). The prompt is evaluated once: scoring costs no extra pass.
    """

    prefix: str
    options: dict[str, str]  # the scored word ("Yes") -> the text forced when it is chosen; empty:
    # nothing to decide, the prefix alone is forced (the model need not generate it token by token)
    decide: Callable[[dict[str, float]], str] | None
    grammar: str
    scores: dict[str, float] = field(default_factory=dict)  # filled in: log-probability per word
    chosen: str | None = None  # filled in: the word decided


@dataclass(frozen=True)
class Options:
    """How one completion is generated."""

    max_tokens: int
    json_schema: dict | None = None  # constrain the output to this JSON schema
    temperature: float = 0.0  # 0: greedy
    choice: Choice | None = None  # a decision from the model's scores at the output's start
    # Made ahead of any request (a summary, a read-ahead): starts only when no question waits.
    background: bool = False
    # Keep the state after this completion in the prompt cache, for a later prompt that
    # continues this conversation (a follow-up); one-off prompts do not pay for the save.
    remember: bool = False
    # The opening of the user's next message in this conversation, read ahead after the
    # completion (with ``remember``), so that message's prompt leaves only its own words to read.
    next_turn: str | None = None


class LLM(Protocol):
    name: str

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]: ...

    def complete(self, messages: list[dict], options: Options) -> str: ...

    def samples(
        self,
        messages: list[dict],
        options: Options,
        *,
        count: int,
        complete: Callable[[str], bool] = lambda text: False,
    ) -> list[str]: ...

    def read_ahead(self, messages: list[dict], *, background: bool = True) -> bool: ...
