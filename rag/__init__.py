"""Grounded search over research-paper abstracts, offline."""

from .embedder import Embedder, MiniLMEmbedder
from .errors import EmbeddingError, InputError, ModelError, RagError, StoreError
from .ingest import IngestSummary
from .library import Library, Stats
from .loaders import LoadResult, load_path
from .paper import Paper
from .retrieval import Hit
from .settings import Settings

__all__ = [
    "Embedder", "EmbeddingError", "Hit", "IngestSummary", "InputError", "Library", "LoadResult",
    "MiniLMEmbedder", "ModelError", "Paper", "RagError", "Settings", "Stats", "StoreError", "load_path",
]
