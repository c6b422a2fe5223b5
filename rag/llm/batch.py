"""Several completions of one prompt decoded together, one batch per step.

On a CPU a step for four sequences costs well under four steps for one: llama.cpp multiplies
them by each weight block together. The sequences share the prompt's cells in one KV cache, in
a context of their own, so the model's main context keeps its evaluated prompt for follow-ups.
Goes below llama-cpp-python's high-level API (``llama_cpp._internals``): it has no batched
sampling of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .protocol import MIN_P, REPEAT_PENALTY, TOP_K, TOP_P
from .states import REREAD


def batch_context(llama: Any, count: int) -> BatchContext:
    """A context like the model's own holding ``count`` sequences in one KV cache."""
    import llama_cpp
    from llama_cpp import _internals

    params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
    params.n_seq_max, params.kv_unified = count, True
    return BatchContext(_internals.LlamaContext(model=llama._model, params=params, verbose=False))


def sampler(llama, temperature: float, seed: int):
    """The sampling chain ``Llama.create_completion`` builds for the pipeline's settings (the repeat
    penalty over the last 64 tokens, as ``Llama``'s default; greedy at temperature 0)."""
    from llama_cpp import _internals

    sampler = _internals.LlamaSampler()
    sampler.add_penalties(
        n_vocab=llama.n_vocab(),
        penalty_last_n=llama.last_n_tokens_size,
        penalty_repeat=REPEAT_PENALTY,
        penalty_freq=0.0,
        penalty_present=0.0,
    )
    if temperature == 0.0:
        sampler.add_greedy()
        return sampler
    sampler.add_top_k(TOP_K)
    sampler.add_typical(1.0, 1)
    sampler.add_top_p(TOP_P, 1)
    sampler.add_min_p(MIN_P, 1)
    sampler.add_temp(temperature)
    sampler.add_dist(seed)
    return sampler


@dataclass
class BatchContext:
    """A context for decoding several sequences together, and the prompt its sequence 0 holds."""

    context: Any
    held: list[int] = field(default_factory=list)
    last_read: int = 0  # tokens the last ``read`` evaluated
    last_generated: int = 0  # tokens the last ``decode_together`` generated, all sequences

    def read(self, llama, prompt: list[int]) -> None:
        """Make sequence 0 hold ``prompt`` and the others nothing, evaluating only what follows the
        prefix it shares with the prompt held: summary prompts share their opening (the system
        prompt), which is then read once, not once per paper."""
        import llama_cpp
        from llama_cpp import Llama, _internals

        memory, held, self.held = self.context.memory, self.held, []
        kept = min(Llama.longest_token_prefix(held, prompt), len(prompt) - REREAD)
        if kept <= 0 or not llama_cpp.llama_memory_seq_rm(memory, -1, kept, -1):
            llama_cpp.llama_memory_clear(memory, True)
            kept = 0
        batch = _internals.LlamaBatch(n_tokens=llama.n_batch, embd=0, n_seq_max=1, verbose=False)
        for start in range(kept, len(prompt), llama.n_batch):
            batch.set_batch(prompt[start : start + llama.n_batch], n_past=start, logits_all=False)
            self.context.decode(batch)
        self.held, self.last_read = list(prompt), len(prompt) - kept


def decode_together(
    llama,
    shared: BatchContext,
    prompt: list[int],
    stop: list[str],
    samplers: list,
    max_tokens: int,
    complete: Callable[[str], bool],
) -> list[str]:
    """One completion per sampler: the prompt is evaluated once as sequence 0 and shared with the
    others, then every unfinished sequence advances one token per decoded batch."""
    import llama_cpp
    from llama_cpp import _internals

    count, context = len(samplers), shared.context
    shared.read(llama, prompt)
    for seq in range(1, count):
        llama_cpp.llama_memory_seq_cp(context.memory, 0, seq, -1, -1)
    batch = _internals.LlamaBatch(n_tokens=count, embd=0, n_seq_max=count, verbose=False)
    tokens: list[list[int | None]] = [[] for _ in samplers]
    texts = [""] * count
    rows = {seq: -1 for seq in range(count)}  # sequence -> its logits' row in the last batch
    for _ in range(max_tokens):
        for seq, row in rows.items():
            token = llama_cpp.llama_sampler_sample(samplers[seq].sampler, context.ctx, row)
            if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token):
                tokens[seq].append(None)
                continue
            tokens[seq].append(token)
            texts[seq] = llama.detokenize(tokens[seq]).decode("utf-8", errors="ignore")
        rows = {
            seq: i
            for i, seq in enumerate(
                seq for seq in rows if tokens[seq][-1] is not None and not _ended(texts[seq], stop, complete)
            )
        }
        if not rows:
            break
        batch.reset()
        for seq, i in rows.items():
            token = tokens[seq][-1]
            assert token is not None  # ended sequences have no row
            _put(batch, i, token, len(prompt) + len(tokens[seq]) - 1, seq)
        batch.batch.n_tokens = len(rows)
        context.decode(batch)
    shared.last_generated = sum(1 for sequence in tokens for token in sequence if token is not None)
    return [_before_stop(text, stop) for text in texts]


def _ended(text: str, stop: list[str], complete: Callable[[str], bool]) -> bool:
    return any(word in text for word in stop) or complete(_before_stop(text, stop))


def _before_stop(text: str, stop: list[str]) -> str:
    for word in stop:
        text = text.split(word, 1)[0]
    return text


def _put(batch, i: int, token: int, position: int, seq: int) -> None:
    batch.batch.token[i], batch.batch.pos[i] = token, position
    batch.batch.n_seq_id[i], batch.batch.seq_id[i][0], batch.batch.logits[i] = 1, seq, True
