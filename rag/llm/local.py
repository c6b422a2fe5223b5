"""The in-process model: a GGUF file run by llama.cpp (the only module tree that imports llama_cpp).

One shared instance per model file serves everyone in turn (``scheduler``). Prompts are built
with a stable opening so that a prompt continuing an earlier one reads only what follows
(``states``). Every completion reports what it read and how long it took (``events``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

from ..errors import ModelError
from . import batch, events, states
from .protocol import MIN_P, REPEAT_PENALTY, TOP_K, TOP_P, Options
from .quantize import physical_cores
from .scheduler import Scheduler

_INSTANCES: dict[tuple, LocalLLM] = {}
_INSTANCES_LOCK = threading.Lock()
_LOG = logging.getLogger(__name__)
_DONE = object()  # end-of-stream marker on a generation queue


class LocalLLM:
    def __init__(
        self,
        path: Path,
        name: str,
        chat_format: str | None,
        n_ctx: int,
        seed: int,
        prompt_cache_mb: int = 0,
        threads: int = 0,
    ):
        self.path, self.name, self.chat_format, self.n_ctx, self.seed = path, name, chat_format, n_ctx, seed
        self.prompt_cache_mb = prompt_cache_mb
        self.threads = threads or physical_cores()
        self.scheduler = Scheduler()
        self._llama: Any = None
        self._batch_contexts: dict[
            int, batch.BatchContext
        ] = {}  # sequences -> a context decoding them together

    @classmethod
    def shared(cls, path: Path, name: str, *options: Any) -> LocalLLM:
        """One instance per model file and ``options`` (``__init__``'s after the name), so every
        caller of the same model shares its scheduler and states."""
        key = (str(path), *options)
        with _INSTANCES_LOCK:
            if key not in _INSTANCES:
                _INSTANCES[key] = cls(path, name, *options)
            return _INSTANCES[key]

    def load(self) -> Any:
        """The llama.cpp model, loaded on first use (call while holding the scheduler)."""
        if self._llama is None:
            try:
                from llama_cpp import Llama

                # n_ctx and verbose always explicit: llama-cpp-python's defaults are 512 and chatty.
                self._llama = Llama(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.threads,
                    n_batch=512,
                    seed=self.seed,
                    chat_format=self.chat_format,
                    verbose=False,
                )
                if self.prompt_cache_mb > 0:
                    # Saved states of recent prompts: a follow-up resumes its own conversation's
                    # prefix even when other questions were answered in between.
                    self._llama.set_cache(states.prompt_cache(self.prompt_cache_mb << 20))
            except Exception as exc:  # llama_cpp raises ValueError/RuntimeError for bad files
                raise ModelError(f"cannot load model {self.path}: {exc}") from exc
        return self._llama

    def count_tokens(self, text: str) -> int:
        if self._llama is None:
            with self.scheduler.hold():
                self.load()
        # The tokenizer only reads the vocabulary, fixed once loaded, so it is not held for: a question
        # trimming its sources never queues behind a background summary for each count.
        return len(self._llama.tokenize(text.encode(), add_bos=False, special=True))

    def prompt_tokens(self, messages: list[dict]) -> list[int]:
        """The chat prompt's tokens, as a completion of ``messages`` reads them."""
        with self.scheduler.hold():
            return self._prompt(self.load(), messages)[0]

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        """Text pieces of one chat completion.

        A ``choice`` (``Options``) decides one point of the output from the model's scores; its
        prefix and forced text come out as the first piece. With ``remember`` the state after the
        completion (and after ``next_turn``, read ahead) is saved before the stream ends, so a
        follow-up asked as soon as the answer is out finds it ready.

        Generation runs in its own thread holding the model, so no lock is held across this
        generator's yields: servers such as Gradio resume a generator on whichever worker thread
        is free, and a lock taken on one thread cannot be released on another. Closing the
        generator early stops generation at the next token.
        """
        pieces: queue.Queue = queue.Queue()
        stop = threading.Event()

        def generate() -> None:
            try:
                with self.scheduler.hold(options.background):
                    self._run_completion(messages, options, pieces, stop)
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

    def _run_completion(
        self, messages: list[dict], options: Options, pieces: queue.Queue, stop: threading.Event
    ) -> None:
        """One completion, while holding the model: its pieces onto ``pieces``, then its event."""
        started, first, said = time.perf_counter(), None, []
        llama = self.load()
        progress = _Reading()
        with contextlib.closing(self._generate(llama, messages, options, progress)) as parts:
            for piece in parts:
                if stop.is_set():
                    break
                first = first if first is not None else time.perf_counter() - started
                said.append(piece)
                pieces.put(piece)
        if options.remember and not stop.is_set():
            self._remember(llama, messages, "".join(said), options.next_turn)
        events.emit(
            events.Event(
                "completion",
                self.name,
                messages,
                prompt_tokens=progress.prompt_tokens,
                read_tokens=progress.read,
                generated_tokens=progress.generated,
                first_token_s=first,
                total_s=time.perf_counter() - started,
                background=options.background,
            )
        )

    def _generate(
        self, llama: Any, messages: list[dict], options: Options, progress: _Reading
    ) -> Generator[str, None, None]:
        """The completion's text pieces; the prompt is formatted and tokenized here so that a
        choice is scored on exactly the tokens the completion then continues from. With
        ``remember``, the prompt starts from the prompt cache's best saved state."""
        from llama_cpp import LlamaGrammar

        prompt, stop = self._prompt(llama, messages)
        if options.remember:
            states.restore(llama, prompt)
        schema, choice = options.json_schema, options.choice
        grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False) if schema else None
        if choice is not None:
            prompt = prompt + self._tokens(llama, choice.prefix)
            forced = ""
            if choice.options and choice.decide is not None:
                # restored above when asked: a second look-up in the prompt cache would find the same state
                logits, progress.read = self._evaluate(llama, prompt, restore=False)
                choice.scores = _log_probabilities(
                    logits, {w: self._first_tokens(llama, w) for w in choice.options}
                )
                choice.chosen = choice.decide(dict(choice.scores))
                forced = choice.options[choice.chosen]
            yield choice.prefix + forced
            prompt = prompt + (self._tokens(llama, forced) if forced else [])
            grammar = LlamaGrammar.from_string(choice.grammar, verbose=False)
        if choice is None or not choice.options:
            # A prompt the context already holds whole (the same question again) would have only its
            # last token read again, by other kernels than a whole read's: the answer could change.
            # A scored choice has just read its prompt that way (``_evaluate``): not read again.
            states.hold_at_most(llama, prompt, len(prompt) - states.REREAD)
        progress.prompt_tokens, progress.read = (
            len(prompt),
            progress.read + len(prompt) - states.held(llama, prompt),
        )
        with states.without_prompt_cache(llama):
            chunks = llama.create_completion(
                prompt=prompt,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                top_p=TOP_P,
                top_k=TOP_K,
                min_p=MIN_P,
                repeat_penalty=REPEAT_PENALTY,
                seed=self.seed,
                stop=stop,
                grammar=grammar,
                stream=True,
            )
            for chunk in chunks:
                progress.generated += 1
                piece = chunk["choices"][0]["text"]
                if piece:
                    yield piece

    def _remember(self, llama: Any, messages: list[dict], said: str, next_turn: str | None) -> None:
        """Save the state after a completion in the prompt cache, first reading the opening of the
        conversation's next user message when one is expected (the chat template's assistant
        opening after it is read too; the next prompt continues otherwise and drops it)."""
        if llama.cache is None:
            return
        try:
            if next_turn is not None:
                tokens, _ = self._prompt(
                    llama,
                    [
                        *messages,
                        {"role": "assistant", "content": said},
                        {"role": "user", "content": next_turn},
                    ],
                )
                self._evaluate(llama, tokens, restore=False)  # the context holds all but the opening
            states.save(llama)
        except Exception as exc:  # an optimisation only: the answer is already out
            _LOG.warning("could not save the conversation's state: %s", exc)

    def _prompt(self, llama: Any, messages: list[dict]) -> tuple[list[int], list[str]]:
        """The chat prompt's tokens and stop strings, formatted as llama-cpp-python's chat handler does."""
        from llama_cpp import llama_chat_format

        formatter: Any = None
        if self.chat_format:
            formatter = getattr(llama_chat_format, "format_" + self.chat_format.replace("-", "_"), None)
        elif "tokenizer.chat_template" in llama.metadata:
            formatter = llama_chat_format.Jinja2ChatFormatter(
                template=llama.metadata["tokenizer.chat_template"],
                eos_token=llama._model.token_get_text(llama.token_eos()),
                bos_token=llama._model.token_get_text(llama.token_bos()),
            )
        if formatter is None:
            raise ModelError(f"no prompt format for {self.path.name} (chat format {self.chat_format!r})")
        result = formatter(messages=messages)
        tokens = llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        stop = (
            []
            if result.stop is None
            else [result.stop]
            if isinstance(result.stop, str)
            else list(result.stop)
        )
        return tokens, stop

    @staticmethod
    def _tokens(llama: Any, text: str) -> list[int]:
        return list(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _first_tokens(self, llama: Any, word: str) -> set[int]:
        """First tokens of the word as written, lower-cased and after a space ("Yes", "yes", " Yes")."""
        forms = {word, word.lower(), " " + word, " " + word.lower()}
        return {self._tokens(llama, form)[0] for form in forms}

    @staticmethod
    def _evaluate(llama: Any, tokens: list[int], restore: bool = True) -> tuple[Any, int]:
        """The next-token logits after ``tokens`` and how many tokens were read for them: only what
        the context (or, with ``restore``, a saved state in the prompt cache) does not hold."""
        import numpy as np

        if restore:
            states.restore(llama, tokens)
        read = states.evaluate_after_held(llama, tokens, len(tokens) - states.REREAD)
        return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy(), read

    def complete(self, messages: list[dict], options: Options) -> str:
        return "".join(self.stream(messages, options))

    def read_ahead(self, messages: list[dict], *, background: bool = True) -> bool:
        """Read the prompt of ``messages`` ahead of any request and keep its state in the prompt
        cache, so that a later prompt starting the same way (a question whose best source is this
        paper) reads only what follows. Returns whether a state was saved: not when no cache is
        configured, or one already covers the prompt."""
        if self.prompt_cache_mb <= 0:
            return False
        with self.scheduler.hold(background):
            started = time.perf_counter()
            llama = self.load()
            tokens, _ = self._prompt(llama, messages)
            if states.cached_whole(llama, tokens):
                return False
            try:
                _, read = self._evaluate(llama, tokens)
                states.save(llama)  # the context now holds exactly ``tokens``
            except Exception as exc:  # llama_cpp raises bare RuntimeError/ValueError
                raise ModelError(f"reading a prompt ahead failed: {exc}") from exc
        events.emit(
            events.Event(
                "read-ahead",
                self.name,
                messages,
                prompt_tokens=len(tokens),
                read_tokens=read,
                total_s=time.perf_counter() - started,
                background=background,
            )
        )
        return True

    def read(self, messages: list[dict], *, fresh: bool = False) -> events.Event:
        """Read the prompt of ``messages`` into the context, as a completion would before its first
        token, and say what that took. ``fresh``: llama.cpp's own cost of the whole prompt, read
        from an empty context that is left empty, so nothing is reused before or after."""
        with self.scheduler.hold():
            started = time.perf_counter()
            llama = self.load()
            tokens, _ = self._prompt(llama, messages)
            if fresh:
                llama.reset()
                llama.eval(tokens)
                llama.reset()
                read = len(tokens)
            else:
                _, read = self._evaluate(llama, tokens, restore=False)
            event = events.Event(
                "read",
                self.name,
                messages,
                prompt_tokens=len(tokens),
                read_tokens=read,
                total_s=time.perf_counter() - started,
            )
        events.emit(event)
        return event

    @property
    def prompt_cache_bytes(self) -> int:
        """What the saved states in the prompt cache take (0 before the model is loaded)."""
        cache = self._llama.cache if self._llama is not None else None
        return int(cache.cache_size) if cache else 0

    def samples(
        self,
        messages: list[dict],
        options: Options,
        *,
        count: int,
        complete: Callable[[str], bool] = lambda text: False,
    ) -> list[str]:
        """``count`` completions of one prompt: the first greedy, the others sampled at the
        options' temperature with seeds of their own (the same prompt gives the same lines),
        decoded together (``batch``). A sequence ends at the end of its turn, after
        ``max_tokens``, or as soon as ``complete(its text so far)``."""
        with self.scheduler.hold(options.background):
            started = time.perf_counter()
            llama = self.load()
            prompt, stop = self._prompt(llama, messages)
            samplers = [
                batch.sampler(llama, 0.0 if s == 0 else options.temperature, self.seed + s)
                for s in range(count)
            ]
            try:
                context = self._batch_context(llama, count)
                texts = batch.decode_together(
                    llama, context, prompt, stop, samplers, options.max_tokens, complete
                )
            except Exception as exc:  # llama_cpp raises bare RuntimeError/ValueError
                raise ModelError(f"generation failed: {exc}") from exc
            finally:  # freed even when a decode fails
                for sampler in samplers:
                    sampler.close()
        events.emit(
            events.Event(
                "samples",
                self.name,
                messages,
                prompt_tokens=len(prompt),
                read_tokens=context.last_read,
                generated_tokens=context.last_generated,  # counted while decoding, not re-tokenized
                total_s=time.perf_counter() - started,
                background=options.background,
            )
        )
        return texts

    def _batch_context(self, llama: Any, count: int) -> batch.BatchContext:
        if count not in self._batch_contexts:
            self._batch_contexts[count] = batch.batch_context(llama, count)
        return self._batch_contexts[count]


class _Reading:
    """What one completion read and generated, filled in as it goes (for its event)."""

    def __init__(self) -> None:
        self.prompt_tokens = self.read = self.generated = 0


def _log_probabilities(logits: Any, token_sets: dict[str, set[int]]) -> dict[str, float]:
    """log P(any of the tokens) per name, from one row of raw logits."""
    import numpy as np

    peak = float(np.max(logits))
    log_total = peak + math.log(float(np.sum(np.exp(logits - peak))))
    return {
        name: peak + math.log(sum(math.exp(float(logits[t]) - peak) for t in tokens)) - log_total
        for name, tokens in token_sets.items()
    }
