from pathlib import Path

import pytest

from rag import Library, MiniLMEmbedder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def embedder():
    """The real bundled embedder, loaded once per test session."""
    return MiniLMEmbedder()


@pytest.fixture
def library(tmp_path, embedder):
    """An empty real library (Chroma + SQLite) in a temporary directory."""
    lib = Library(tmp_path / "store", embedder=embedder)
    yield lib
    lib.close()


@pytest.fixture
def seeded(library):
    library.ingest([SEEDS / "digest-2023-03-11.txt"])
    return library
