"""What a llama.cpp context holds, and the prompt cache of saved states it can resume from.

Prompts are built with a stable opening (system text, then sources), so a later prompt that
starts the same way resumes from the tokens the context, or a saved state, already holds and
reads only what follows. This module owns that bookkeeping; ``local.LocalLLM`` uses it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

# The last tokens of a prompt are always read again, the same prompt included: llama.cpp decodes
# a one-token batch with other kernels, whose rounding changed summary lines and answers to a
# question asked again. Two or more re-read tokens give a whole read's output; 16 keeps a margin.
REREAD = 16


def prompt_cache(capacity_bytes: int) -> Any:
    """llama-cpp-python's RAM cache of saved states (``save``), bounded by ``capacity_bytes``."""
    from llama_cpp import LlamaRAMCache

    return LlamaRAMCache(capacity_bytes=capacity_bytes)


def held(llama: Any, tokens: list[int]) -> int:
    """How many of ``tokens`` the context holds already (its longest common prefix)."""
    from llama_cpp import Llama

    return int(Llama.longest_token_prefix(llama._input_ids.tolist(), tokens))


def hold_at_most(llama: Any, tokens: list[int], keep: int) -> int:
    """Cut the context back to the prefix it shares with ``tokens``, at most ``keep`` tokens
    long; returns how many it still holds."""
    kept = min(held(llama, tokens), keep)
    if kept > 0 and llama._ctx.kv_cache_seq_rm(-1, kept, -1):
        llama.n_tokens = kept
    else:
        llama.reset()
        kept = 0
    return kept


def evaluate_after_held(llama: Any, tokens: list[int], keep: int) -> int:
    """Evaluate ``tokens``, reusing at most ``keep`` tokens of the prefix the context holds
    (``keep`` below the length: the last tokens' logits are needed); returns how many were read."""
    start = hold_at_most(llama, tokens, keep)
    llama.eval(tokens[start:])
    return len(tokens) - start


def restore(llama: Any, tokens: list[int]) -> None:
    """Load the prompt cache's saved state that holds more of ``tokens`` than the context does."""
    from llama_cpp import Llama

    if llama.cache:
        with contextlib.suppress(KeyError):
            saved = llama.cache[tokens]
            if Llama.longest_token_prefix(saved.input_ids.tolist(), tokens) > held(llama, tokens):
                with _one_logits_row(llama):
                    llama.load_state(saved)


def cached_whole(llama: Any, tokens: list[int]) -> bool:
    """Whether a saved state in the prompt cache holds all of ``tokens``."""
    from llama_cpp import Llama

    with contextlib.suppress(KeyError):
        return bool(Llama.longest_token_prefix(llama.cache[tokens].input_ids.tolist(), tokens) >= len(tokens))
    return False


def save(llama: Any) -> None:
    """Keep the context's state in the prompt cache, under the tokens it holds."""
    with _one_logits_row(llama):
        state = llama.save_state()
    llama.cache[llama.input_ids.tolist()] = state


@contextlib.contextmanager
def _one_logits_row(llama: Any) -> Iterator[None]:
    """llama-cpp-python's ``save_state`` copies, and ``load_state`` writes, a row of its logits
    buffer per token the context holds: 0.6 MB a row with a 150k-token vocabulary, ~300 MB for a
    question's prompt, 0.4-1.8 s per save on this machine, after every answer that is remembered.
    Nothing reads those rows (without ``logits_all`` llama-cpp-python does not fill them: sampling
    and our scores read llama.cpp's own logits, and a restored state re-evaluates a token before
    sampling), so both see a one-row buffer: the state then holds one row, the cache's capacity
    bounds the memory it really takes, and a restore writes one row."""
    rows = llama.scores
    llama.scores = rows[:1]
    try:
        yield
    finally:
        llama.scores = rows


@contextlib.contextmanager
def without_prompt_cache(llama: Any) -> Iterator[None]:
    """llama-cpp-python's own use of the prompt cache kept out: it would save the state before
    the next turn's opening is read; restoring and saving are ours."""
    cache = llama.cache
    llama.set_cache(None)
    try:
        yield
    finally:
        llama.set_cache(cache)
