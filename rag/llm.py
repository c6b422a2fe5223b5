"""The in-process language model: the only module that imports llama_cpp.

llama.cpp contexts are not thread-safe, so one shared instance per model file
serves everyone under a lock. llama-cpp-python reuses the longest common prefix
of the previous prompt, and with a prompt cache of recent prompts' saved states,
so prompts are built with a stable prefix (system prompt, then sources) to make
follow-ups cheap.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from pathlib import Path
from typing import Iterator

from .errors import ModelError

_INSTANCES: dict[tuple, "LocalLLM"] = {}
_INSTANCES_LOCK = threading.Lock()
_DONE = object()  # end-of-stream marker on a generation queue


def physical_cores() -> int:
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except ImportError:
        return os.cpu_count() or 1


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


class LocalLLM:
    def __init__(self, path: Path, name: str, chat_format: str | None, n_ctx: int, seed: int,
                 prompt_cache_mb: int = 0):
        self.path, self.name, self.chat_format, self.n_ctx, self.seed = path, name, chat_format, n_ctx, seed
        self.prompt_cache_mb = prompt_cache_mb
        self._llama = None
        self.lock = threading.RLock()

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
        with self.lock:
            return len(self._load().tokenize(text.encode(), add_bos=False, special=True))

    def stream(self, messages: list[dict], *, max_tokens: int, json_schema: dict | None = None,
               temperature: float = 0.0, remember: bool = False) -> Iterator[str]:
        """Text pieces of one chat completion.

        ``remember`` saves the model state after this completion in the prompt cache (when one
        is configured), for a later prompt that continues this one; saving costs ~0.25 s, so
        one-off prompts such as summaries do not.

        Generation runs in its own thread holding the model lock, so the lock is never held
        across this generator's yields: servers such as Gradio resume a generator on
        whichever worker thread is free, and a lock taken on one thread cannot be released
        on another. Closing the generator early stops generation at the next token.
        """
        fmt = {"type": "json_object", "schema": json_schema} if json_schema else None
        pieces: queue.Queue = queue.Queue()
        stop = threading.Event()

        def generate() -> None:
            try:
                with self.lock, self._prompt_cache_used(remember) as llama:
                    chunks = llama.create_chat_completion(
                        messages=messages, max_tokens=max_tokens, temperature=temperature, seed=self.seed,
                        response_format=fmt, stream=True)
                    for chunk in chunks:
                        if stop.is_set():
                            break
                        piece = chunk["choices"][0]["delta"].get("content")
                        if piece:
                            pieces.put(piece)
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
    def _prompt_cache_used(self, remember: bool):
        """The model, with its prompt cache attached only for a completion worth remembering."""
        llama = self._load()
        cache = llama.cache
        llama.set_cache(cache if remember else None)
        try:
            yield llama
        finally:
            llama.set_cache(cache)

    def complete(self, messages: list[dict], **kwargs) -> str:
        return "".join(self.stream(messages, **kwargs))
