"""Converting a catalogue model into a faster quantisation format once, at assembly."""

import os

import pytest

from rag import Library, ModelError, Settings
from rag.llm import quantize as llm_module
from rag.models import ModelSpec, catalog, converted, resolve

SPEC = ModelSpec(name="tiny", file="tiny-model-q4_k_m.gguf", sha256="abc")


@pytest.fixture
def conversions(monkeypatch):
    """A scripted quantizer that records its calls and writes a fake converted file."""
    calls = []

    def fake_quantize(source, target, fmt):
        calls.append(fmt)
        target.write_bytes(b"GGUF" + fmt.encode() + source.read_bytes())

    monkeypatch.setattr(llm_module, "quantize", fake_quantize)
    monkeypatch.setattr(llm_module, "engine_version", lambda: "1.0")
    return calls


@pytest.fixture
def shipped(tmp_path):
    path = tmp_path / SPEC.file
    path.write_bytes(b"GGUF shipped weights")
    return path


def test_the_shipped_format_or_none_keeps_the_shipped_file(conversions, shipped):
    assert SPEC.quantisation == "Q4_K_M"
    assert converted(SPEC, shipped, "") == shipped
    assert converted(SPEC, shipped, "q4_k_m") == shipped
    assert conversions == []


def test_a_model_is_converted_once_and_reused(conversions, shipped):
    first = converted(SPEC, shipped, "q4_0")
    assert first.name == "tiny-model-q4_k_m.q4_0.gguf" and first.read_bytes().startswith(b"GGUFQ4_0")
    assert converted(SPEC, shipped, "Q4_0") == first
    assert conversions == ["Q4_0"]
    assert [p.name for p in shipped.parent.iterdir() if "partial" in p.name] == []


def test_a_changed_file_or_another_llama_cpp_build_converts_again(conversions, shipped, monkeypatch):
    target = converted(SPEC, shipped, "Q4_0")
    target.write_bytes(b"truncated")  # caught by its size
    converted(SPEC, shipped, "Q4_0")
    monkeypatch.setattr(llm_module, "engine_version", lambda: "2.0")
    converted(SPEC, shipped, "Q4_0")
    assert conversions == ["Q4_0"] * 3


def test_verifying_rehashes_the_converted_file(conversions, shipped):
    target = converted(SPEC, shipped, "Q4_0")
    stamp = target.with_name(target.name + ".verified").read_text()
    data = bytearray(target.read_bytes())
    data[-1] ^= 1  # same size; keep the mtime the stamp recorded, so only the hash can tell
    mtime = target.stat().st_mtime_ns
    target.write_bytes(bytes(data))
    os.utime(target, ns=(mtime, mtime))
    assert converted(SPEC, shipped, "Q4_0") == target and conversions == ["Q4_0"]
    converted(SPEC, shipped, "Q4_0", force_verify=True)
    assert conversions == ["Q4_0"] * 2
    assert target.with_name(target.name + ".verified").read_text().split("|")[1] == stamp.split("|")[1]


def test_a_failed_conversion_leaves_nothing_behind(monkeypatch, shipped):
    def failing(source, target, fmt):
        target.write_bytes(b"half")
        raise ModelError("llama.cpp could not convert")

    monkeypatch.setattr(llm_module, "quantize", failing)
    with pytest.raises(ModelError, match="could not convert"):
        converted(SPEC, shipped, "Q4_0")
    assert sorted(p.name for p in shipped.parent.iterdir()) == [SPEC.file]


def test_an_unknown_format_is_named_in_the_error(tmp_path, shipped):
    with pytest.raises(ModelError, match="unknown quantisation format 'Q9_9'.*Q4_0"):
        llm_module.quantize(shipped, tmp_path / "out.gguf", "Q9_9")


@pytest.mark.model
def test_the_default_model_runs_converted_to_the_configured_format(tmp_path, embedder):
    settings = Settings(model_cache_dir=tmp_path)
    spec = catalog()[settings.model]
    _, path = resolve(settings.model, tmp_path, settings.model_format)
    assert settings.model_format == "Q4_0" and path.name.endswith(".q4_0.gguf")
    # Q4_0 stores 4.5 bits a weight against Q4_K_M's ~4.9: the file really was rewritten.
    with open(path, "rb") as handle:
        assert handle.read(4) == b"GGUF"
    assert path.stat().st_size < 0.95 * spec.size
    mtime = path.stat().st_mtime_ns
    assert resolve(settings.model, tmp_path, "Q4_0")[1] == path and path.stat().st_mtime_ns == mtime
    # Summaries are cached by model name: the converted file's differ from the shipped file's.
    library = Library(tmp_path / "store", settings=settings, embedder=embedder)
    assert library.llm().name == "qwen2.5-coder-0.5b-instruct-q4_k_m.q4_0"
    assert library.llm(fmt="").name == settings.model
    library.close()


def test_two_processes_assembling_a_model_at_once_each_write_their_own_file(tmp_path, monkeypatch):
    """Each assembly writes a temporary file of its own and renames it into place whole; with one
    shared ``.partial`` name, one writer's rename took the file from under the other."""
    import hashlib
    import threading

    from rag import models

    parts = []
    for n in range(3):
        part = tmp_path / f"part{n}.bin"
        part.write_bytes(bytes([n]) * (3 << 20))
        parts.append(part)
    whole = b"".join(p.read_bytes() for p in parts)
    spec = ModelSpec(name="tiny", file="tiny.gguf", size=len(whole), sha256=hashlib.sha256(whole).hexdigest(),
                     parts={"count": 3})
    monkeypatch.setattr(models, "part_paths", lambda spec: parts)
    cache, errors = tmp_path / "cache", []

    def assemble():
        try:
            models._assemble(spec, cache / spec.file)
        except Exception as exc:  # noqa: BLE001 - any failure of a concurrent writer fails the test
            errors.append(exc)

    writers = [threading.Thread(target=assemble) for _ in range(6)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    assert errors == []
    assert (cache / spec.file).read_bytes() == whole
    assert not list(cache.glob("*.partial"))


def test_an_unknown_model_name_is_a_model_error_naming_the_known_ones():
    from rag.models import spec_named

    with pytest.raises(ModelError, match=r"no model 'nope' in the catalogue \(qwen2.5-coder-0.5b"):
        spec_named("nope")
