import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA
from rag import EmbeddingError, MiniLMEmbedder
from rag.embedder import default_model_path


def test_vectors_match_sentence_transformers_reference(embedder):
    reference = json.loads((DATA / "minilm_reference.json").read_text())
    ours = embedder.embed(reference["sentences"])
    cosines = (ours * np.array(reference["vectors"])).sum(axis=1)
    assert cosines.min() >= 0.99, cosines


def test_the_shipped_form_matches_the_reference_too():
    reference = json.loads((DATA / "minilm_reference.json").read_text())
    shipped = MiniLMEmbedder()
    cosines = (shipped.embed(reference["sentences"]) * np.array(reference["vectors"])).sum(axis=1)
    assert shipped.name != MiniLMEmbedder(integer_matmul=True, cache=Path("unused")).name
    assert cosines.min() >= 0.99, cosines


def test_the_integer_form_is_converted_once(tmp_path):
    first = MiniLMEmbedder(integer_matmul=True, cache=tmp_path)
    vector = first.embed(["a sentence"])
    (converted,) = tmp_path.glob("*.onnx")
    written = converted.stat().st_mtime_ns
    second = MiniLMEmbedder(integer_matmul=True, cache=tmp_path)
    np.testing.assert_allclose(second.embed(["a sentence"]), vector, atol=1e-6)
    assert converted.stat().st_mtime_ns == written and len(list(tmp_path.iterdir())) == 1


def test_unit_length_and_input_order_kept(embedder):
    texts = ["short", "a much longer sentence " * 20, "medium length sentence here"]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # Length-sorted, padded batches must not change any text's vector.
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_token_count_is_not_truncated(embedder):
    assert embedder.count_tokens("hello world " * 300) == 600


def test_corrupt_model_is_refused(tmp_path):
    bad = tmp_path / "model.onnx"
    shutil.copy(default_model_path(), bad)
    with open(bad, "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(EmbeddingError, match="sha256"):
        MiniLMEmbedder(model_path=bad).embed(["x"])


def test_missing_model_is_reported(tmp_path):
    with pytest.raises(EmbeddingError, match="not found"):
        MiniLMEmbedder(model_path=tmp_path / "nope.onnx").embed(["x"])
