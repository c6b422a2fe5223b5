"""One settings object; every default has a reason and a ``RAG_*`` override."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _default_store_dir() -> Path:
    # Per-user data dir so the store survives reinstalls and is not inside the checkout.
    return Path(user_data_dir("rag-abstracts", appauthor=False)) / "store"


@dataclass(frozen=True)
class Settings:
    # Where the Chroma files and the keyword index live.
    store_dir: Path = field(default_factory=_default_store_dir)
    # Name of the Chroma collection; one store directory holds one library.
    collection: str = "abstracts"
    # all-MiniLM-L6-v2 was trained on 256-token inputs; longer ones are truncated.
    embed_max_tokens: int = 256
    # Chunks per onnxruntime call: large enough to amortise the call, small
    # enough that padding within a length-sorted batch stays cheap.
    embed_batch_size: int = 32
    # Chunk size in embedder tokens, leaving room for the title and [CLS]/[SEP].
    chunk_tokens: int = 200
    # Overlap between neighbouring chunks of a long text, in embedder tokens.
    chunk_overlap: int = 40
    # Candidates each retriever contributes before fusion; more costs latency.
    candidates: int = 50
    # Reciprocal rank fusion constant; 60 is the value from Cormack et al. 2009.
    rrf_k: int = 60
    # Papers written to the store per batch: bounds memory and work lost to a kill.
    ingest_batch_papers: int = 64

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then ``RAG_<FIELD>`` environment variables, then ``overrides``."""
        values = {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(f"RAG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _coerce(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "store_dir" in values:
            values["store_dir"] = Path(values["store_dir"]).expanduser()
        return cls(**values)


def _coerce(f: dataclasses.Field, raw: str):
    kind = f.type if isinstance(f.type, type) else {"int": int, "Path": Path, "str": str,
                                                      "float": float, "bool": bool}.get(f.type, str)
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    try:
        return kind(raw)
    except ValueError as exc:
        from .errors import RagError

        raise RagError(f"RAG_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
