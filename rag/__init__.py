"""Grounded search over research-paper abstracts, offline."""

from .embedder import Embedder, MiniLMEmbedder
from .errors import EmbeddingError, InputError, ModelError, RagError, StoreError
from .ingest import IngestSummary
from .library import Library, Stats
from .loaders import LoadResult, load_path
from .paper import Paper
from .qa import Answer, Citation
from .retrieval import Hit
from .settings import Settings
from .summaries import Digest, Summary

__all__ = [
    "Answer", "Citation", "Digest", "Embedder", "EmbeddingError", "Hit", "IngestSummary", "InputError",
    "Library", "LoadResult", "MiniLMEmbedder", "ModelError", "Paper", "RagError", "Settings", "Stats",
    "StoreError", "Summary", "load_path",
]
