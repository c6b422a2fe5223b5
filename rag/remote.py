"""Generation and embeddings on an OpenAI-compatible server: the only module that imports openai.

``llama_cpp.server`` is the reference server; vLLM and llama.cpp's own server speak the same
protocol. The OpenAI client supplies timeouts and retries with exponential backoff; a server
that is down, times out or answers with garbage becomes a ``ModelError``/``EmbeddingError``.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Generator, Iterator, Sequence

import numpy as np

from .errors import EmbeddingError, ModelError
from .llm import Choice, Options

_INSTANCES: dict[tuple, RemoteLLM] = {}
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

    def __init__(
        self, url: str, model: str, key: str = "", timeout: float = 60.0, retries: int = 2, seed: int = 42
    ):
        self.url, self.model, self.seed = url, model, seed
        self.name = f"{model}@{url}"  # summaries cached by one server's model are not another's
        self._client = _client(url, key, timeout, retries)
        self._schema_supported = True  # until the server rejects response_format

    @classmethod
    def shared(cls, url: str, model: str, **kwargs) -> RemoteLLM:
        key = (url, model, tuple(sorted(kwargs.items())))  # another timeout or key is another client
        with _INSTANCES_LOCK:
            if key not in _INSTANCES:
                _INSTANCES[key] = cls(url, model, **kwargs)
            return _INSTANCES[key]

    def count_tokens(self, text: str) -> int:
        # No tokenizer for an arbitrary remote model: ~3.5 characters per token for English text
        # errs on the side of a shorter prompt. Only used to trim sources to a budget.
        return math.ceil(len(text) / 3.5)

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        """Text pieces of one chat completion; a server lost mid-answer raises ``ModelError``.
        (``remember`` and ``next_turn`` are for the in-process model's prompt cache; a server keeps
        its own, and schedules ``background`` requests with the rest.) A ``choice`` with options is
        decided from the server's log-probabilities (``_decide``); one without is left to the model, which
        generates freely."""
        if options.choice is not None and options.choice.options:
            yield self._decide(messages, options.choice)
            return
        request = dict(
            model=self.model,
            messages=messages,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            seed=self.seed,
            stream=True,
        )
        yield from self._pieces(request, options.json_schema)

    def _decide(self, messages: list[dict], choice: Choice) -> str:
        """Decide ``choice`` from the server's log-probabilities of the reply's first token
        (``logprobs``/``top_logprobs``, which OpenAI-compatible servers return). The chat API
        cannot continue a reply from ``choice.prefix``, so the last message asks for one of the
        option words instead. Returns the prefix and the chosen option's text, as the in-process
        model's first piece; nothing is generated after it."""
        asked = [
            *messages[:-1],
            {
                **messages[-1],
                "content": f"{messages[-1]['content']}\n\nReply with one word: {', '.join(choice.options)}.",
            },
        ]
        request = dict(
            model=self.model,
            messages=asked,
            max_tokens=1,
            temperature=0.0,
            seed=self.seed,
            logprobs=True,
            top_logprobs=_TOP_LOGPROBS,
        )
        try:
            response = self._client.chat.completions.create(**request)
            top = [(t.token, t.logprob) for t in response.choices[0].logprobs.content[0].top_logprobs]
        except Exception as exc:
            raise ModelError(f"model server {self.url} {_describe(exc)}") from exc
        if not top:
            raise ModelError(f"model server {self.url} returned no log-probabilities")
        choice.scores = option_log_probs(top, list(choice.options))
        choice.chosen = choice.decide(dict(choice.scores)) if choice.decide else None
        return choice.prefix + (choice.options[choice.chosen] if choice.chosen else "")

    def samples(
        self,
        messages: list[dict],
        options: Options,
        *,
        count: int,
        complete: Callable[[str], bool] = lambda text: False,
    ) -> list[str]:
        """``count`` completions, the first greedy, the others sampled with seeds of their own; one
        request each (a server decodes them in parallel only if asked for them at once, which the
        chat API's ``n`` does not guarantee), each closed as soon as ``complete(its text)``."""
        texts = []
        for seq in range(count):
            request = dict(
                model=self.model,
                messages=messages,
                max_tokens=options.max_tokens,
                temperature=options.temperature if seq else 0.0,
                seed=self.seed + seq,
                stream=True,
            )
            text = ""
            with contextlib.closing(self._pieces(request, None)) as pieces:
                for piece in pieces:
                    text += piece
                    if complete(text):
                        break
            texts.append(text)
        return texts

    def _pieces(self, request: dict, json_schema: dict | None) -> Generator[str, None, None]:
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
                    **request, response_format={"type": "json_object", "schema": json_schema}
                )
            except (BadRequestError, UnprocessableEntityError):
                self._schema_supported = False
        return self._client.chat.completions.create(**request)

    def complete(self, messages: list[dict], options: Options) -> str:
        return "".join(self.stream(messages, options))

    def read_ahead(self, messages: list[dict], *, background: bool = True) -> bool:
        """Nothing to do: a server's prompt cache is its own (llama.cpp's server reuses a slot's
        prefix by itself). Returns False: no state was saved here."""
        return False


# The most alternatives the OpenAI API lists per token (servers may cap it lower).
_TOP_LOGPROBS = 20


def option_log_probs(top: list[tuple[str, float]], words: list[str]) -> dict[str, float]:
    """log P(reply opens with the word) per word, from a first token's listed alternatives: the
    listed tokens that begin the word ("Yes", " yes", "Y") added up. A word with no listed token
    gets the least listed log-probability, an upper bound on any token not listed."""
    floor = min(logprob for _, logprob in top)
    scores = {}
    for word in words:
        matching = [
            lp for token, lp in top if token.strip() and word.lower().startswith(token.strip().lower())
        ]
        scores[word] = _log_sum_exp(matching) if matching else floor
    return scores


def _log_sum_exp(values: list[float]) -> float:
    peak = max(values)
    return peak + math.log(sum(math.exp(v - peak) for v in values))


class RemoteEmbedder:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (the ``Embedder`` protocol)."""

    def __init__(
        self,
        url: str,
        model: str,
        key: str = "",
        timeout: float = 60.0,
        retries: int = 2,
        batch_size: int = 32,
        max_tokens: int = 256,
    ):
        self.url, self.model, self.batch_size, self.max_tokens = url, model, batch_size, max_tokens
        self.name = f"{model}@openai-embeddings"  # what the store records and checks
        self._client = _client(url, key, timeout, retries)
        self._dimensions: int | None = None

    @property
    def dimensions(self) -> int:
        if self._dimensions is None:
            self.embed(["dimension probe"])
        return self._dimensions or 0

    def count_tokens(self, text: str) -> int:
        return math.ceil(len(text) / 3.5)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                response = self._client.embeddings.create(model=self.model, input=batch)
                rows = [
                    _pooled(item.embedding) for item in sorted(response.data, key=lambda item: item.index)
                ]
            except EmbeddingError:
                raise
            except Exception as exc:
                raise EmbeddingError(f"embedding server {self.url} {_describe(exc)}") from exc
            if len(rows) != len(batch) or len({len(r) for r in rows}) != 1:
                raise EmbeddingError(
                    f"embedding server {self.url} returned {len(rows)} vectors of sizes "
                    f"{sorted({len(r) for r in rows})} for {len(batch)} texts"
                )
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
