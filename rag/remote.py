"""Generation and embeddings on an OpenAI-compatible server: the only module that imports openai.

``llama_cpp.server`` is the reference server; vLLM and llama.cpp's own server speak the same
protocol. The OpenAI client supplies timeouts and retries with exponential backoff; a server
that is down, times out or answers with garbage becomes a ``ModelError``/``EmbeddingError``.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import Callable, Iterator

import numpy as np

from .errors import EmbeddingError, ModelError
from .llm import Choice

_INSTANCES: dict[tuple, "RemoteLLM"] = {}
_INSTANCES_LOCK = threading.Lock()


def _client(url: str, key: str, timeout: float, retries: int):
    from openai import OpenAI

    base = url.rstrip("/")
    base = base if base.endswith("/v1") else base + "/v1"
    # A local server needs no key, but the client insists on one.
    return OpenAI(base_url=base, api_key=key or "not-needed", timeout=timeout, max_retries=retries)


def _describe(exc: Exception) -> str:
    from openai import APIConnectionError, APIStatusError, APITimeoutError

    if isinstance(exc, APITimeoutError):
        return "timed out"
    if isinstance(exc, APIConnectionError):
        return "cannot be reached (is it running?)"
    if isinstance(exc, APIStatusError):
        return f"answered HTTP {exc.status_code}: {str(exc.message)[:200]}"
    return f"failed: {type(exc).__name__}: {exc}"


class RemoteLLM:
    """The ``LLM`` protocol over HTTP."""

    def __init__(self, url: str, model: str, key: str = "", timeout: float = 60.0, retries: int = 2,
                 seed: int = 42):
        self.url, self.model, self.seed = url, model, seed
        self.name = f"{model}@{url}"  # summaries cached by one server's model are not another's
        self._client = _client(url, key, timeout, retries)
        self._schema_supported = True  # until the server rejects response_format

    @classmethod
    def shared(cls, url: str, model: str, **kwargs) -> "RemoteLLM":
        key = (url, model, tuple(sorted(kwargs.items())))  # another timeout or key is another client
        with _INSTANCES_LOCK:
            if key not in _INSTANCES:
                _INSTANCES[key] = cls(url, model, **kwargs)
            return _INSTANCES[key]

    def count_tokens(self, text: str) -> int:
        # No tokenizer for an arbitrary remote model: ~3.5 characters per token for English text
        # errs on the side of a shorter prompt. Only used to trim sources to a budget.
        return math.ceil(len(text) / 3.5)

    def stream(self, messages: list[dict], *, max_tokens: int, json_schema: dict | None = None,
               temperature: float = 0.0, remember: bool = False, choice: Choice | None = None,
               background: bool = False, next_turn: str | None = None) -> Iterator[str]:
        """Text pieces of one chat completion; a server lost mid-answer raises ``ModelError``.
        (``remember`` and ``next_turn`` are for the in-process model's prompt cache; a server keeps its own, and
        schedules ``background`` requests with the rest. A
        ``choice`` needs the model's logits, which the chat API does not expose: it is left
        undecided and the model generates freely.)"""
        request = dict(model=self.model, messages=messages, max_tokens=max_tokens, temperature=temperature,
                       seed=self.seed, stream=True)
        yield from self._pieces(request, json_schema)

    def samples(self, messages: list[dict], *, count: int, max_tokens: int, temperature: float,
                complete: Callable[[str], bool] = lambda text: False, background: bool = False) -> list[str]:
        """``count`` completions, the first greedy, the others sampled with seeds of their own; one
        request each (a server decodes them in parallel only if asked for them at once, which the
        chat API's ``n`` does not guarantee), each closed as soon as ``complete(its text)``."""
        texts = []
        for seq in range(count):
            request = dict(model=self.model, messages=messages, max_tokens=max_tokens,
                           temperature=temperature if seq else 0.0, seed=self.seed + seq, stream=True)
            text = ""
            with contextlib.closing(self._pieces(request, None)) as pieces:
                for piece in pieces:
                    text += piece
                    if complete(text):
                        break
            texts.append(text)
        return texts

    def _pieces(self, request: dict, json_schema: dict | None) -> Iterator[str]:
        try:
            chunks = self._open(request, json_schema)
            for chunk in chunks:
                if not getattr(chunk, "choices", None):
                    continue
                piece = chunk.choices[0].delta.content
                if piece:
                    yield piece
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"model server {self.url} {_describe(exc)}") from exc

    def _open(self, request: dict, json_schema: dict | None):
        """Start the stream, constrained by the schema where the server supports it.

        llama.cpp's servers take ``{"type": "json_object", "schema": ...}``; a server that
        rejects it (HTTP 400/422) is asked again without, and the caller's JSON parsing and
        citation checks then decide whether the free-form output is usable.
        """
        from openai import BadRequestError, UnprocessableEntityError

        if json_schema and self._schema_supported:
            try:
                return self._client.chat.completions.create(
                    **request, response_format={"type": "json_object", "schema": json_schema})
            except (BadRequestError, UnprocessableEntityError):
                self._schema_supported = False
        return self._client.chat.completions.create(**request)

    def complete(self, messages: list[dict], **kwargs) -> str:
        return "".join(self.stream(messages, **kwargs))

    def prefill(self, messages: list[dict], *, background: bool = True) -> bool:
        """Nothing to do: a server's prompt cache is its own (llama.cpp's server reuses a slot's
        prefix by itself). Returns False: no state was saved here."""
        return False


class RemoteEmbedder:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (the ``Embedder`` protocol)."""

    def __init__(self, url: str, model: str, key: str = "", timeout: float = 60.0, retries: int = 2,
                 batch_size: int = 32, max_tokens: int = 256):
        self.url, self.model, self.batch_size, self.max_tokens = url, model, batch_size, max_tokens
        self.name = f"{model}@openai-embeddings"  # what the store records and checks
        self._client = _client(url, key, timeout, retries)
        self._dimensions: int | None = None

    @property
    def dimensions(self) -> int:
        if self._dimensions is None:
            self.embed(["dimension probe"])
        return self._dimensions

    def count_tokens(self, text: str) -> int:
        return math.ceil(len(text) / 3.5)

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            try:
                response = self._client.embeddings.create(model=self.model, input=batch)
                rows = [_pooled(item.embedding) for item in sorted(response.data, key=lambda item: item.index)]
            except EmbeddingError:
                raise
            except Exception as exc:
                raise EmbeddingError(f"embedding server {self.url} {_describe(exc)}") from exc
            if len(rows) != len(batch) or len({len(r) for r in rows}) != 1:
                raise EmbeddingError(f"embedding server {self.url} returned {len(rows)} vectors of sizes "
                                     f"{sorted({len(r) for r in rows})} for {len(batch)} texts")
            vectors += rows
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
        self._dimensions = matrix.shape[1] if len(vectors) else self._dimensions
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)


def _pooled(embedding) -> list[float]:
    """One vector per text. A model served without a pooling layer (llama-cpp-python's server
    with a decoder model) returns one vector per token: those are mean-pooled here."""
    if embedding and isinstance(embedding[0], list):
        matrix = np.asarray(embedding, dtype=np.float32)
        if matrix.ndim != 2:
            raise EmbeddingError(f"embedding server returned an array of shape {matrix.shape}")
        return matrix.mean(axis=0).tolist()
    return embedding
