"""The language-model interface (``LLM``) and the in-process model: the only module that
imports llama_cpp.

llama.cpp contexts are not thread-safe, so one shared instance per model file
serves everyone under a lock. llama-cpp-python reuses the longest common prefix
of the previous prompt, and with a prompt cache of recent prompts' saved states,
so prompts are built with a stable prefix (system prompt, then sources) to make
follow-ups cheap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

from .errors import ModelError

_INSTANCES: dict[tuple, "LocalLLM"] = {}
_INSTANCES_LOCK = threading.Lock()
_LOG = logging.getLogger(__name__)
_DONE = object()  # end-of-stream marker on a generation queue
# Sampling settings of every completion, streamed or decoded together: llama-cpp-python's chat
# handler defaults, so answers stay as they were.
TOP_K, TOP_P, MIN_P, REPEAT_PENALTY = 40, 0.95, 0.05, 1.1
# The last tokens of a prompt are always read again, the same prompt included: llama.cpp decodes a
# one-token batch with other kernels, and their rounding changed the lines of 2 of 3 seed papers
# and an answer to 1 of 10 seed questions asked again (two or more tokens gave a whole read's
# output; 16 keeps a margin and costs ~0.1 s).
_REREAD = 16


def physical_cores() -> int:
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except ImportError:
        return os.cpu_count() or 1


def quantisation_formats() -> list[str]:
    """The formats llama.cpp can write a model in ("Q4_0", "Q4_K_M", ...)."""
    import llama_cpp

    prefix = "LLAMA_FTYPE_MOSTLY_"
    return sorted(name[len(prefix):] for name in dir(llama_cpp) if name.startswith(prefix))


def engine_version() -> str:
    """llama.cpp's build as llama-cpp-python reports it: another build may quantise differently."""
    import llama_cpp

    return llama_cpp.__version__


def quantize(source: Path, target: Path, fmt: str) -> None:
    """Write ``source`` re-quantised into llama.cpp format ``fmt`` at ``target``."""
    import ctypes

    import llama_cpp

    if fmt not in quantisation_formats():
        raise ModelError(f"unknown quantisation format {fmt!r}; llama.cpp writes {', '.join(quantisation_formats())}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{fmt}")
    params.allow_requantize = True  # the shipped files are already quantised (Q4_K_M)
    params.nthread = physical_cores()
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if status != 0:
        raise ModelError(f"llama.cpp could not convert {source} to {fmt} (status {status})")


def _prompt_cache(capacity_bytes: int):
    """llama-cpp-python's RAM cache of saved states, keeping only what a restore needs.

    A saved state carries a copy of the logits buffer (one row per batch position, ~300 MB
    with a 150k-token vocabulary) that the cache does not count against its capacity. A
    restored state always re-evaluates at least one token before sampling, so only the last
    row is kept: the capacity then bounds the real memory (~8 MB per 0.5B-model state).
    """
    from llama_cpp import LlamaRAMCache

    class LastLogitsCache(LlamaRAMCache):
        def __setitem__(self, key, state):
            state.scores = state.scores[-1:].copy()
            super().__setitem__(key, state)

    return LastLogitsCache(capacity_bytes=capacity_bytes)


@dataclass
class Choice:
    """A decision taken inside a generation from the model's own next-token scores.

    The model reads the prompt and ``prefix`` (the opening of its output, such as the start of
    the answer string); the log-probability of each option word's first token is read off the
    logits llama.cpp has just computed, ``decide`` picks an option from them, and generation
    continues after ``prefix`` and that option's forced text, constrained by ``grammar`` (GBNF
    for the rest of the output). The prompt is evaluated once: scoring costs no extra pass.
    A model that exposes no logits (a remote server) leaves ``chosen`` None and generates freely.
    """

    prefix: str
    options: dict[str, str]  # the scored word ("Yes") -> the text forced when it is chosen; empty:
    # nothing to decide, the prefix alone is forced (the model need not generate it token by token)
    decide: Callable[[dict[str, float]], str] | None
    grammar: str
    scores: dict[str, float] = field(default_factory=dict)  # filled in: log-probability per word
    chosen: str | None = None  # filled in: the word decided


class LLM(Protocol):
    """What the pipeline needs of a language model: ``LocalLLM`` (llama.cpp in-process) and
    ``remote.RemoteLLM`` (an OpenAI-compatible server) both provide it."""

    name: str

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: list[dict], *, max_tokens: int, json_schema: dict | None = None,
               temperature: float = 0.0, remember: bool = False, choice: Choice | None = None,
               background: bool = False, next_turn: str | None = None) -> Iterator[str]: ...

    def complete(self, messages: list[dict], **kwargs) -> str: ...

    def samples(self, messages: list[dict], *, count: int, max_tokens: int, temperature: float,
                complete: Callable[[str], bool] = lambda text: False, background: bool = False) -> list[str]: ...

    def prefill(self, messages: list[dict], *, background: bool = True) -> bool: ...


def evaluate_after_held(llama, tokens: list[int], keep: int) -> None:
    """Evaluate ``tokens`` in the model's own context, reusing at most ``keep`` tokens of the prefix
    it already holds (``keep`` below the length: the last tokens' logits are needed)."""
    llama.eval(tokens[hold_at_most(llama, tokens, keep):])


def hold_at_most(llama, tokens: list[int], keep: int) -> int:
    """Cut the model's own context back to the prefix it shares with ``tokens``, at most ``keep``
    tokens long; returns how many it still holds."""
    from llama_cpp import Llama

    kept = min(Llama.longest_token_prefix(llama._input_ids.tolist(), tokens), keep)
    if kept > 0 and llama._ctx.kv_cache_seq_rm(-1, kept, -1):
        llama.n_tokens = kept
    else:
        llama.reset()
        kept = 0
    return kept


def _log_probabilities(logits, token_sets: dict[str, set[int]]) -> dict[str, float]:
    """log P(any of the tokens) per name, from one row of raw logits."""
    import numpy as np

    peak = float(np.max(logits))
    log_total = peak + math.log(float(np.sum(np.exp(logits - peak))))
    return {name: peak + math.log(sum(math.exp(float(logits[t]) - peak) for t in tokens)) - log_total
            for name, tokens in token_sets.items()}


class LocalLLM:
    def __init__(self, path: Path, name: str, chat_format: str | None, n_ctx: int, seed: int,
                 prompt_cache_mb: int = 0):
        self.path, self.name, self.chat_format, self.n_ctx, self.seed = path, name, chat_format, n_ctx, seed
        self.prompt_cache_mb = prompt_cache_mb
        self._llama = None
        self.lock = threading.RLock()
        self._waiting = 0  # questions (foreground completions) waiting for the lock
        self._queue = threading.Condition()
        self._batch_contexts: dict[int, _BatchContext] = {}  # sequences -> a context for decoding them together

    @classmethod
    def shared(cls, path: Path, name: str, chat_format: str | None, n_ctx: int, seed: int,
               prompt_cache_mb: int = 0) -> "LocalLLM":
        key = (str(path), chat_format, n_ctx, seed, prompt_cache_mb)
        with _INSTANCES_LOCK:
            if key not in _INSTANCES:
                _INSTANCES[key] = cls(path, name, chat_format, n_ctx, seed, prompt_cache_mb)
            return _INSTANCES[key]

    def _load(self):
        if self._llama is None:
            try:
                from llama_cpp import Llama

                self._llama = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=physical_cores(),
                                    n_batch=512, seed=self.seed, chat_format=self.chat_format, verbose=False)
                if self.prompt_cache_mb > 0:
                    # Saved KV states of recent prompts: a follow-up resumes its own conversation's
                    # prefix even when other questions were answered in between.
                    self._llama.set_cache(_prompt_cache(self.prompt_cache_mb << 20))
            except Exception as exc:  # llama_cpp raises ValueError/RuntimeError for bad files
                raise ModelError(f"cannot load model {self.path}: {exc}") from exc
        return self._llama

    def count_tokens(self, text: str) -> int:
        if self._llama is None:
            with self._turn(background=False):
                self._load()
        # llama.cpp's tokenizer only reads the vocabulary, fixed once loaded, so no lock: a question
        # trimming its sources never queues behind a background summary for each count.
        return len(self._llama.tokenize(text.encode(), add_bos=False, special=True))

    def stream(self, messages: list[dict], *, max_tokens: int, json_schema: dict | None = None,
               temperature: float = 0.0, remember: bool = False, choice: Choice | None = None,
               background: bool = False, next_turn: str | None = None) -> Iterator[str]:
        """Text pieces of one chat completion.

        A ``background`` completion (a summary made ahead of any request) starts only when no
        foreground one is waiting for the model, so a question waits at most for the one in progress.

        ``choice`` decides one point of the output from the model's scores (see ``Choice``); its
        prefix and forced text come out as the first piece.

        ``remember`` starts from the prompt cache's saved state that holds most of the prompt and
        saves the state after this completion in it (when a cache is configured), for a later
        prompt that continues this one; saving costs ~0.25 s, so one-off prompts such as summaries
        do not. ``next_turn``, the opening of the user's next message in this conversation, is
        read after the completion and saved with it, so that message's prompt leaves only its own
        words to read. Both happen before the stream ends, so a follow-up asked as soon as the
        answer is out finds the state ready rather than waiting for the save.

        Generation runs in its own thread holding the model lock, so the lock is never held
        across this generator's yields: servers such as Gradio resume a generator on
        whichever worker thread is free, and a lock taken on one thread cannot be released
        on another. Closing the generator early stops generation at the next token.
        """
        pieces: queue.Queue = queue.Queue()
        stop = threading.Event()

        def generate() -> None:
            try:
                with self._turn(background):
                    llama, said = self._load(), []
                    with contextlib.closing(self._generate(llama, messages, max_tokens, json_schema, temperature,
                                                           choice, remember)) as parts:
                        for piece in parts:
                            if stop.is_set():
                                break
                            said.append(piece)
                            pieces.put(piece)
                    if remember and not stop.is_set():
                        self._remember(llama, messages, "".join(said), next_turn)
            except ModelError as exc:
                pieces.put(exc)
            except Exception as exc:  # llama_cpp raises bare ValueError/RuntimeError
                pieces.put(ModelError(f"generation failed: {exc}"))
            finally:
                pieces.put(_DONE)

        threading.Thread(target=generate, name="llama-generate", daemon=True).start()
        try:
            while (item := pieces.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()

    @contextlib.contextmanager
    def _turn(self, background: bool):
        """The model lock, taken in turn: foreground completions first, background ones when none waits.

        A plain lock is not fair: a background loop that releases it and at once asks again could
        take it back before a waiting question. A foreground completion counts itself as waiting
        until it holds the lock; background ones wait for that count to be zero.
        """
        with self._queue:
            if background:
                self._queue.wait_for(lambda: self._waiting == 0)
            else:
                self._waiting += 1
        try:
            self.lock.acquire()
        finally:
            if not background:
                with self._queue:
                    self._waiting -= 1
                    self._queue.notify_all()
        try:
            yield
        finally:
            self.lock.release()

    def _generate(self, llama, messages: list[dict], max_tokens: int, json_schema: dict | None,
                  temperature: float, choice: Choice | None, restore: bool = False) -> Iterator[str]:
        """The completion's text pieces; the prompt is formatted and tokenized here so that a
        choice can be scored on exactly the tokens the completion then continues from. With
        ``restore``, the prompt starts from the prompt cache's best saved state."""
        from llama_cpp import LlamaGrammar

        prompt, stop = self._prompt(llama, messages)
        if restore:
            self._restore(llama, prompt)
        grammar = LlamaGrammar.from_json_schema(json.dumps(json_schema), verbose=False) if json_schema else None
        if choice is not None:
            prompt = prompt + self._tokens(llama, choice.prefix)
            forced = ""
            if choice.options:
                # restored above when asked: a second look-up in the prompt cache would find the same state
                choice.scores = _log_probabilities(self._evaluate(llama, prompt, restore=False),
                                                   {w: self._first_tokens(llama, w) for w in choice.options})
                choice.chosen = choice.decide(dict(choice.scores))
                forced = choice.options[choice.chosen]
            yield choice.prefix + forced
            prompt = prompt + (self._tokens(llama, forced) if forced else [])
            grammar = LlamaGrammar.from_string(choice.grammar, verbose=False)
        if choice is None or not choice.options:
            # A prompt the context already holds whole (the same question again) would have only its
            # last token read again, by other kernels than a whole read's: the answer could change.
            # A scored choice has just read its prompt that way (``_evaluate``): not read again.
            hold_at_most(llama, prompt, len(prompt) - _REREAD)
        # llama-cpp-python's own use of the prompt cache is kept out: it would save the state
        # before the next turn's opening is read; restoring and saving are ours.
        with self._without_prompt_cache(llama):
            chunks = llama.create_completion(prompt=prompt, max_tokens=max_tokens, temperature=temperature,
                                             top_p=TOP_P, top_k=TOP_K, min_p=MIN_P, repeat_penalty=REPEAT_PENALTY,
                                             seed=self.seed, stop=stop, grammar=grammar, stream=True)
            for chunk in chunks:
                piece = chunk["choices"][0]["text"]
                if piece:
                    yield piece

    def _remember(self, llama, messages: list[dict], said: str, next_turn: str | None) -> None:
        """Save the state after a completion in the prompt cache, first reading the opening of the
        conversation's next user message when one is expected (the chat template's assistant
        opening after it is read too; the next prompt continues otherwise and drops it)."""
        if llama.cache is None:
            return
        try:
            if next_turn is not None:
                tokens, _ = self._prompt(llama, [*messages, {"role": "assistant", "content": said},
                                                 {"role": "user", "content": next_turn}])
                self._evaluate(llama, tokens, restore=False)  # the context holds all but the opening
            llama.cache[llama.input_ids.tolist()] = llama.save_state()
        except Exception as exc:  # an optimisation only: the answer is already out
            _LOG.warning("could not save the conversation's state: %s", exc)

    @staticmethod
    @contextlib.contextmanager
    def _without_prompt_cache(llama):
        cache = llama.cache
        llama.set_cache(None)
        try:
            yield
        finally:
            llama.set_cache(cache)

    def _prompt(self, llama, messages: list[dict]) -> tuple[list[int], list[str]]:
        """The chat prompt's tokens and stop strings, formatted as llama-cpp-python's chat handler does."""
        from llama_cpp import llama_chat_format

        if self.chat_format:
            formatter = getattr(llama_chat_format, "format_" + self.chat_format.replace("-", "_"), None)
        elif "tokenizer.chat_template" in llama.metadata:
            formatter = llama_chat_format.Jinja2ChatFormatter(
                template=llama.metadata["tokenizer.chat_template"],
                eos_token=llama._model.token_get_text(llama.token_eos()),
                bos_token=llama._model.token_get_text(llama.token_bos()))
        else:
            formatter = None
        if formatter is None:
            raise ModelError(f"no prompt format for {self.path.name} (chat format {self.chat_format!r})")
        result = formatter(messages=messages)
        tokens = llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        stop = [] if result.stop is None else [result.stop] if isinstance(result.stop, str) else list(result.stop)
        return tokens, stop

    @staticmethod
    def _tokens(llama, text: str) -> list[int]:
        return llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def _first_tokens(self, llama, word: str) -> set[int]:
        """First tokens of the word as written, lower-cased and after a space ("Yes", "yes", " Yes")."""
        forms = {word, word.lower(), " " + word, " " + word.lower()}
        return {self._tokens(llama, form)[0] for form in forms}

    @staticmethod
    def _restore(llama, tokens: list[int]) -> None:
        """Load the prompt cache's saved state that holds more of ``tokens`` than the context does."""
        from llama_cpp import Llama

        if llama.cache:
            with contextlib.suppress(KeyError):
                saved = llama.cache[tokens]
                if Llama.longest_token_prefix(saved.input_ids.tolist(), tokens) > \
                        Llama.longest_token_prefix(llama._input_ids.tolist(), tokens):
                    llama.load_state(saved)

    @classmethod
    def _evaluate(cls, llama, tokens: list[int], restore: bool = True):
        """The next-token logits after ``tokens``, evaluating only what the context (or, with
        ``restore``, a saved state in the prompt cache) does not already hold; a completion of the
        same tokens then starts where this left off."""
        import numpy as np

        if restore:
            cls._restore(llama, tokens)
        evaluate_after_held(llama, tokens, len(tokens) - _REREAD)
        return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()

    def complete(self, messages: list[dict], **kwargs) -> str:
        return "".join(self.stream(messages, **kwargs))

    def prefill(self, messages: list[dict], *, background: bool = True) -> bool:
        """Read the prompt of ``messages`` ahead of any request and keep its state in the prompt
        cache, so that a later prompt starting the same way (a question whose best source is this
        paper) reads only what follows. Returns whether a state was saved: not when no cache is
        configured, or one already covers the prompt."""
        if self.prompt_cache_mb <= 0:
            return False
        from llama_cpp import Llama

        with self._turn(background):
            llama = self._load()
            tokens, _ = self._prompt(llama, messages)
            with contextlib.suppress(KeyError):
                if Llama.longest_token_prefix(llama.cache[tokens].input_ids.tolist(), tokens) >= len(tokens):
                    return False
            try:
                self._evaluate(llama, tokens)
                llama.cache[tokens] = llama.save_state()
            except Exception as exc:  # llama_cpp raises bare RuntimeError/ValueError
                raise ModelError(f"reading a prompt ahead failed: {exc}") from exc
        return True

    def samples(self, messages: list[dict], *, count: int, max_tokens: int, temperature: float,
                complete: Callable[[str], bool] = lambda text: False, background: bool = False) -> list[str]:
        """``count`` completions of one prompt: the first greedy, the others sampled at
        ``temperature`` with seeds of their own (the same prompt gives the same lines). They are decoded
        together, one batch per step: on a CPU a step for four sequences costs well under four steps
        for one (docs/benchmarks.md), since llama.cpp multiplies them by each weight block together.
        They use a context of their own, so the main one keeps its evaluated prompt for follow-up
        questions. A sequence ends at the end of its turn, after ``max_tokens``, or as soon as
        ``complete(its text so far)``."""
        with self._turn(background):
            llama = self._load()
            prompt, stop = self._prompt(llama, messages)
            samplers = [_sampler(llama, 0.0 if s == 0 else temperature, self.seed + s) for s in range(count)]
            try:
                return _decode_together(llama, self._batch_context(llama, count), prompt, stop, samplers,
                                        max_tokens, complete)
            except Exception as exc:  # llama_cpp raises bare RuntimeError/ValueError
                raise ModelError(f"generation failed: {exc}") from exc
            finally:  # freed even when a decode fails
                for sampler in samplers:
                    sampler.close()

    def _batch_context(self, llama, count: int) -> _BatchContext:
        """A context like the model's own holding ``count`` sequences in one KV cache, where they
        share the prompt's cells."""
        if count not in self._batch_contexts:
            import llama_cpp
            from llama_cpp import _internals

            params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
            params.n_seq_max, params.kv_unified = count, True
            self._batch_contexts[count] = _BatchContext(
                _internals.LlamaContext(model=llama._model, params=params, verbose=False))
        return self._batch_contexts[count]


def _sampler(llama, temperature: float, seed: int):
    """The sampling chain ``Llama.create_completion`` builds for the pipeline's settings (the repeat
    penalty over the last 64 tokens, as ``Llama``'s default; greedy at temperature 0)."""
    from llama_cpp import _internals

    sampler = _internals.LlamaSampler()
    sampler.add_penalties(n_vocab=llama.n_vocab(), penalty_last_n=llama.last_n_tokens_size,
                          penalty_repeat=REPEAT_PENALTY, penalty_freq=0.0, penalty_present=0.0)
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
class _BatchContext:
    """A context for decoding several sequences together, and the prompt its sequence 0 holds."""

    context: object
    held: list[int] = field(default_factory=list)

    def read(self, llama, prompt: list[int]) -> None:
        """Make sequence 0 hold ``prompt`` and the others nothing, evaluating only what follows the
        prefix it shares with the prompt held: summary prompts share their opening (the system
        prompt), which is then read once, not once per paper."""
        import llama_cpp
        from llama_cpp import Llama, _internals

        memory, held, self.held = self.context.memory, self.held, []
        kept = min(Llama.longest_token_prefix(held, prompt), len(prompt) - _REREAD)
        if kept <= 0 or not llama_cpp.llama_memory_seq_rm(memory, -1, kept, -1):
            llama_cpp.llama_memory_clear(memory, True)
            kept = 0
        batch = _internals.LlamaBatch(n_tokens=llama.n_batch, embd=0, n_seq_max=1, verbose=False)
        for start in range(kept, len(prompt), llama.n_batch):
            batch.set_batch(prompt[start:start + llama.n_batch], n_past=start, logits_all=False)
            self.context.decode(batch)
        self.held = list(prompt)


def _decode_together(llama, shared: _BatchContext, prompt: list[int], stop: list[str], samplers: list,
                     max_tokens: int, complete: Callable[[str], bool]) -> list[str]:
    """One completion per sampler: the prompt is evaluated once as sequence 0 and shared with the
    others, then every unfinished sequence advances one token per decoded batch."""
    import llama_cpp
    from llama_cpp import _internals

    count, context = len(samplers), shared.context
    shared.read(llama, prompt)
    for seq in range(1, count):
        llama_cpp.llama_memory_seq_cp(context.memory, 0, seq, -1, -1)
    batch = _internals.LlamaBatch(n_tokens=count, embd=0, n_seq_max=count, verbose=False)
    tokens, texts = [[] for _ in samplers], [""] * count
    rows = {seq: -1 for seq in range(count)}  # sequence -> its logits' row in the last batch
    for _ in range(max_tokens):
        for seq, row in rows.items():
            token = llama_cpp.llama_sampler_sample(samplers[seq].sampler, context.ctx, row)
            if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token):
                tokens[seq].append(None)
                continue
            tokens[seq].append(token)
            texts[seq] = llama.detokenize(tokens[seq]).decode("utf-8", errors="ignore")
        rows = {seq: i for i, seq in enumerate(seq for seq in rows
                                                 if tokens[seq][-1] is not None and not _ended(texts[seq], stop, complete))}
        if not rows:
            break
        batch.reset()
        for seq, i in rows.items():
            _put(batch, i, tokens[seq][-1], len(prompt) + len(tokens[seq]) - 1, seq)
        batch.batch.n_tokens = len(rows)
        context.decode(batch)
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
