"""Real servers on loopback for the scale-out tests: Chroma's and llama-cpp-python's, started
and stopped by the tests themselves."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A subprocess serving HTTP on a fixed loopback port; restartable on the same port."""

    health_path = "/"

    def __init__(self, log: Path):
        self.port, self.log, self.process = free_port(), log, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 120) -> "Server":
        self.process = subprocess.Popen(self.command(), stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command()[0]} exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(self.url + self.health_path, timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.command()} did not come up within {timeout}s; see {self.log}")

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.process.wait(timeout=30)


class ChromaServer(Server):
    health_path = "/api/v2/heartbeat"

    def __init__(self, data: Path):
        super().__init__(data.parent / f"{data.name}.log")
        self.data = data

    def command(self) -> list[str]:
        return [str(BIN / "chroma"), "run", "--path", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)]


class LlamaServer(Server):
    health_path = "/v1/models"

    def __init__(self, model: Path, log: Path, chat_format: str | None, embedding: bool = False):
        super().__init__(log)
        self.model, self.chat_format, self.embedding = model, chat_format, embedding

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1",
                   "--port", str(self.port), "--n_ctx", "2048", "--n_threads", "2", "--seed", "42",
                   "--verbose", "False", "--model_alias", "default"]
        command += ["--chat_format", self.chat_format] if self.chat_format else []
        return command + (["--embedding", "True"] if self.embedding else [])
