"""The ONNX Runtime embedder: the same chunk and sentence vectors as torch, a checked export, a fallback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from config.settings import EmbeddingSettings
from retrieval import onnx_embedding
from retrieval.embedding import SentenceTransformerEmbedder, resolve_model
from retrieval.errors import CitebotError
from retrieval.onnx_embedding import (
    OnnxEmbedder,
    checked_export,
    file_sha256,
    make_embedder,
    unsupported_reason,
)
from retrieval.text import sentence_spans
from tests.conftest import EXPORT_DIR, SEED_TEXT

pytestmark = pytest.mark.model

# Short and long (past the 256-token limit), accents, CJK, digits, markup-ish and blank-edged text.
TEXTS = [
    "How fast is Kim's train?",
    "Kim Jong Un's armored train\n" + SEED_TEXT[:600],
    SEED_TEXT[:3000],
    "Ünïcödé façade — naïve café; 北京 and 東京 are capitals. 1,234.5 km/h at 03:00!",
    "  leading and trailing blanks  ",
    "a",
    "The <b>bold</b> claim [1] (see p. 12) isn't e.g. wrong; it's https://example.org/x?y=1.",
]


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxEmbedder:
    """The packaged model on ONNX Runtime, exported once into the shared test cache."""
    settings = EmbeddingSettings(export_dir=EXPORT_DIR)
    embedder = make_embedder(settings, EXPORT_DIR)
    assert isinstance(embedder, OnnxEmbedder)
    embedder.load()
    return embedder


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))


def test_query_and_batch_vectors_match_torch(
    onnx_embedder: OnnxEmbedder, real_embedder: SentenceTransformerEmbedder
) -> None:
    got, want = onnx_embedder.encode(TEXTS), real_embedder.encode(TEXTS)
    assert got.shape == want.shape == (len(TEXTS), 384)
    assert _cosines(got, want).min() >= 0.999
    for text in TEXTS[:2]:  # one text alone is a batch without padding
        assert _cosines(onnx_embedder.encode([text]), real_embedder.encode([text]))[0] >= 0.999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_chunk_and_sentence_vectors_match_torch(
    onnx_embedder: OnnxEmbedder, real_embedder: SentenceTransformerEmbedder
) -> None:
    spans = [sentence_spans(t) for t in TEXTS]
    vectors, pooled = onnx_embedder.encode_passages(TEXTS, spans)
    want_vectors, want_pooled = real_embedder.encode_passages(TEXTS, spans)
    assert _cosines(vectors, want_vectors).min() >= 0.999
    for got, want, text in zip(pooled, want_pooled, TEXTS, strict=True):
        assert got.shape == want.shape
        placed = np.linalg.norm(want, axis=1) > 0
        # Sentences past the token limit are zero rows on both paths, the rest agree.
        assert np.array_equal(placed, np.linalg.norm(got, axis=1) > 0), text[:40]
        if placed.any():
            assert _cosines(got[placed], want[placed]).min() >= 0.999, text[:40]
    assert not (np.linalg.norm(pooled[2], axis=1) > 0).all()  # the long text has unplaced sentences


def test_an_export_whose_file_changed_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"weights")
    manifest = {"format": onnx_embedding.EXPORT_FORMAT, "sha256": file_sha256(tmp_path / "model.onnx")}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert checked_export(tmp_path) == tmp_path / "model.onnx"
    (tmp_path / "model.onnx").write_bytes(b"weightz")  # same size, other bytes
    assert checked_export(tmp_path) is None
    (tmp_path / "model.onnx").unlink()
    assert checked_export(tmp_path) is None


def test_the_packaged_model_is_exported_with_a_matching_checksum(onnx_embedder: OnnxEmbedder) -> None:
    exports = [d for d in EXPORT_DIR.iterdir() if d.name.startswith("all-MiniLM-L6-v2-")]
    assert exports and all(checked_export(d) is not None for d in exports)


def test_backend_setting_chooses_the_embedder(tmp_path: Path) -> None:
    assert isinstance(
        make_embedder(EmbeddingSettings(backend="torch"), tmp_path), SentenceTransformerEmbedder
    )
    assert isinstance(make_embedder(EmbeddingSettings(), tmp_path), OnnxEmbedder)
    assert isinstance(make_embedder(EmbeddingSettings(device="cuda"), tmp_path), SentenceTransformerEmbedder)


def _cls_pooling_model(root: Path) -> Path:
    source = Path(resolve_model("all-MiniLM-L6-v2"))
    model = root / "cls-model"
    (model / "1_Pooling").mkdir(parents=True)
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json"):
        (model / name).write_bytes((source / name).read_bytes())
    pooling = {"word_embedding_dimension": 384, "pooling_mode_cls_token": True}
    (model / "1_Pooling" / "config.json").write_text(json.dumps(pooling), encoding="utf-8")
    return model


def test_a_model_onnx_cannot_pool_like_goes_to_torch_or_fails_when_onnx_is_required(tmp_path: Path) -> None:
    model = _cls_pooling_model(tmp_path)
    assert "pooling" in (unsupported_reason(model) or "")
    assert isinstance(
        make_embedder(EmbeddingSettings(model=str(model)), tmp_path), SentenceTransformerEmbedder
    )
    with pytest.raises(CitebotError, match="BACKEND=onnx"):
        make_embedder(EmbeddingSettings(model=str(model), backend="onnx"), tmp_path)


def test_a_failed_export_falls_back_to_torch_unless_onnx_is_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    def fail(*_args: object) -> Path:
        raise CitebotError("could not export all-MiniLM-L6-v2 to ONNX: no space left")

    monkeypatch.setattr(onnx_embedding, "ensure_export", fail)
    auto = make_embedder(EmbeddingSettings(), tmp_path)
    assert isinstance(auto, OnnxEmbedder)
    assert _cosines(auto.encode(TEXTS[:2]), real_embedder.encode(TEXTS[:2])).min() >= 0.9999
    required = make_embedder(EmbeddingSettings(backend="onnx"), tmp_path)
    with pytest.raises(CitebotError, match="no space left"):
        required.encode(["x"])


def test_batches_follow_token_length_within_the_budget(onnx_embedder: OnnxEmbedder) -> None:
    encodings = onnx_embedder._tokenizer.encode_batch(TEXTS * 3)
    lengths = [len(e.ids) for e in encodings]
    batches = onnx_embedder._batches(encodings)
    assert sorted(i for b in batches for i in b) == list(range(len(encodings)))
    budget, most = onnx_embedder._settings.batch_tokens, onnx_embedder._settings.batch_size
    for batch in batches:  # longest first; a text longer than the budget goes alone
        assert lengths[batch[0]] == max(lengths[i] for i in batch)
        assert len(batch) <= most and (len(batch) == 1 or len(batch) * lengths[batch[0]] <= budget)
    assert len({len(b) for b in batches}) > 1  # short texts share bigger batches


def test_vectors_do_not_depend_on_the_batch_a_text_lands_in(onnx_embedder: OnnxEmbedder) -> None:
    spans = [sentence_spans(t) for t in TEXTS]
    together, pooled = onnx_embedder.encode_passages(TEXTS, spans)
    for i, text in enumerate(TEXTS):
        alone, alone_pooled = onnx_embedder.encode_passages([text], [spans[i]])
        assert _cosines(together[i : i + 1], alone)[0] >= 0.99999, text[:40]
        placed = np.linalg.norm(alone_pooled[0], axis=1) > 0
        if placed.any():
            assert _cosines(pooled[i][placed], alone_pooled[0][placed]).min() >= 0.99999, text[:40]
