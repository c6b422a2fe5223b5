"""The package as a user installs it: a wheel built from the repository, installed into a fresh
venv and used from a directory outside the checkout, finds its model catalogue, tokenizer and
seed abstracts inside itself."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv holding only the built wheel; its dependencies come from the test venv's
    site-packages through a .pth line (no download, no editable finder)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy, so the build leaves nothing in the checkout (and nothing stale gets in)
    for folder in ("rag", "models", "seeds"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.gguf"))
    for file in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / file, source / file)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp / "dist"), str(source)], check=True, cwd=tmp)
    wheel = next((tmp / "dist").glob("rag_abstracts-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    str(wheel)], check=True)
    return venv


def run(venv: Path, cwd: Path, *args: str) -> str:
    done = subprocess.run([str(venv / "bin" / "rag"), "--store", str(cwd / "store"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_wheel_carries_models_and_seeds_and_works_outside_the_checkout(installed, tmp_path):
    where = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import rag, rag.models as m, rag.embedder as e; "
                            "print(rag.__file__); print(m.CATALOG_PATH); print(e.TOKENIZER_PATH)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert all(str(installed) in path and str(ROOT) not in path for path in where), where
    assert "qwen2.5-coder-0.5b-instruct-q4_k_m" in run(installed, tmp_path, "models", "list")
    assert "added 21" in run(installed, tmp_path, "demo")  # the seeds shipped in the wheel
    hits = json.loads(run(installed, tmp_path, "search", "k-means cross-attention", "--json"))
    assert hits[0]["title"].startswith("kMaX-DeepLab")
    answer = json.loads(run(installed, tmp_path, "ask", "Which paper uses k-means cross-attention?", "--json"))
    assert not answer["abstained"] and "kMaX-DeepLab" in answer["citations"][0]["title"]


def test_the_wheel_serves_the_app_outside_the_checkout(installed, tmp_path):
    """``rag app`` runs the Gradio app from the installed package (rag.app), not from a checkout."""
    import time
    import urllib.request

    from servers import free_port

    port = free_port()
    log = tmp_path / "app.log"
    with open(log, "w") as out:
        server = subprocess.Popen([str(installed / "bin" / "rag"), "--store", str(tmp_path / "store"), "app",
                                   "--seeds", "--port", str(port)], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, "RAG_BACKGROUND_SUMMARIES": "0", "RAG_READ_AHEAD_PAPERS": "0"})
    try:
        deadline, page = time.monotonic() + 240, ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(1)
        assert "gradio" in page.lower(), log.read_text()[-2000:]
        assert "added 21" in log.read_text()  # --seeds ingested the seeds shipped in the wheel
    finally:
        server.terminate()
        server.wait(30)
