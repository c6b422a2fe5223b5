"""Grounded search over research-paper abstracts, offline."""

from .answer import Answer, AnswerStream, Citation, Refusal
from .embedder import Embedder, MiniLMEmbedder
from .errors import EmbeddingError, InputError, ModelError, RagError, StoreError
from .filters import Filters
from .ingest import IngestSummary
from .library import Audit, Library, Pick, Stats
from .llm import LLM, Options
from .loaders import LoadResult, load_path
from .paper import Paper
from .planning import Plan
from .retrieval import Hit
from .settings import Settings
from .sources import Sources
from .summaries import Digest, Summary

__all__ = [
    "Answer",
    "AnswerStream",
    "Audit",
    "Citation",
    "Digest",
    "Embedder",
    "EmbeddingError",
    "Filters",
    "Hit",
    "IngestSummary",
    "InputError",
    "LLM",
    "Library",
    "LoadResult",
    "MiniLMEmbedder",
    "ModelError",
    "Options",
    "Paper",
    "Pick",
    "Plan",
    "RagError",
    "Refusal",
    "Settings",
    "Sources",
    "Stats",
    "StoreError",
    "Summary",
    "load_path",
]
