from pathlib import Path

import pytest

from fakes import FakeLLM, HashEmbedder, RememberingEmbedder
from rag import Library, MiniLMEmbedder, Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def embedder():
    """The real bundled embedder, loaded once per test session; a text's vector is computed once
    and remembered, so the tests' many stores of the same seeds cost one embedding pass."""
    return RememberingEmbedder(MiniLMEmbedder(integer_matmul=True, cache=Settings().model_cache_dir))


@pytest.fixture
def library(tmp_path, embedder):
    """An empty real library (Chroma + SQLite) in a temporary directory. An app built on it does
    not summarise in the background (the browser tests' app does)."""
    lib = Library(tmp_path / "store", embedder=embedder, settings=Settings.from_env(background_summaries=False))
    yield lib
    lib.close()


@pytest.fixture
def seeded(library):
    library.ingest([SEEDS / "digest-2023-03-11.txt"])
    return library


@pytest.fixture
def offline(tmp_path):
    """A library of the seed papers on a real embedded Chroma store, with the hash embedder and,
    as its model, a ``FakeLLM`` the test scripts: ``offline.fake.replies.append(...)``."""
    settings = Settings.from_env(background_summaries=False, verdict_model="", llm_url="", embed_url="")
    lib = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    lib.ingest([SEEDS / "papers.jsonl"])
    lib.fake = FakeLLM()
    lib.llm = lambda model=None, fmt=None: lib.fake
    yield lib
    lib.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, embedder):
    """The real Gradio app over the seeds with the default model, on a free loopback port."""
    from rag import app as app_module
    from servers import free_port

    library = Library(tmp_path_factory.mktemp("app") / "store", embedder=embedder)
    library.ingest([SEEDS / "digest-2023-03-11.txt"])
    demo = app_module.build_app(library).queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                            quiet=True, ssr_mode=False, show_error=True, css=app_module.CSS)
    yield url
    demo.close()
    library.close()


@pytest.fixture
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """Chroma's own server for the whole test session (tests use their own collections)."""
    from servers import ChromaServer

    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server serving the default GGUF."""
    from rag.models import resolve
    from servers import LlamaServer

    spec, path = resolve(Settings().model, Settings().model_cache_dir, Settings().model_format)
    server = LlamaServer(path, tmp_path_factory.mktemp("llama-server") / "server.log", spec.chat_format).start()
    yield server
    server.stop()
