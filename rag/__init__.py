"""Grounded search over research-paper abstracts, offline."""

from .answer import Answer, AnswerStream, Citation, Refusal
from .embedder import Embedder, MiniLMEmbedder
from .errors import EmbeddingError, InputError, ModelError, RagError, StoreError
from .ingest import IngestSummary
from .library import Library, Stats
from .llm import LLM
from .loaders import LoadResult, load_path
from .paper import Paper
from .retrieval import Hit
from .settings import Settings
from .summaries import Digest, Summary

__all__ = [
    "Answer",
    "AnswerStream",
    "Citation",
    "Digest",
    "Embedder",
    "EmbeddingError",
    "Hit",
    "IngestSummary",
    "InputError",
    "LLM",
    "Library",
    "LoadResult",
    "MiniLMEmbedder",
    "ModelError",
    "Paper",
    "RagError",
    "Refusal",
    "Settings",
    "Stats",
    "StoreError",
    "Summary",
    "load_path",
]
