"""Sentence vectors: pooled from the chunk's forward pass at ingest, stored with the chunk."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.service import CitebotService
from retrieval.text import sentence_spans
from retrieval.vectors import pack_vectors, unpack_vectors
from tests.conftest import SEED_TEXT

TEXT = (
    "Kim Jong Un's armored train is slow and heavy. "
    "Live lobsters and French wines were delivered to the train. "
    "The trip to Vladivostok took two days."
)


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(0, 6), st.integers(1, 64)), elements=st.floats(-1, 1, width=32))
)
def test_packed_vectors_come_back_within_the_int8_step(rows: np.ndarray) -> None:
    back = unpack_vectors(pack_vectors(rows))
    assert back is not None and back.shape == rows.shape
    step = np.abs(rows).max(axis=1, initial=0.0, keepdims=True) / 127
    assert np.all(np.abs(back - rows) <= step / 2 + 1e-6)


def test_malformed_blobs_unpack_to_none() -> None:
    good = pack_vectors(np.ones((2, 4), dtype=np.float32))
    assert unpack_vectors(good[:-4]) is None  # cut short
    assert unpack_vectors("not base64!") is None
    assert unpack_vectors("") is None


def test_pooled_vectors_come_from_the_same_pass_and_match_their_own_sentences(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    prefix = "A title\n"
    spans = [(len(prefix) + s, len(prefix) + e) for s, e in sentence_spans(TEXT)]
    vectors, pooled = real_embedder.encode_passages([prefix + TEXT, "short"], [spans, []])
    assert np.allclose(vectors, real_embedder.encode([prefix + TEXT, "short"]), atol=1e-5)
    rows = pooled[0]
    assert rows.shape == (3, real_embedder.dimension) and pooled[1].shape == (0, real_embedder.dimension)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    alone = real_embedder.encode([TEXT[s:e] for s, e in sentence_spans(TEXT)])
    similarity = rows @ alone.T  # each pooled sentence is closest to the same sentence encoded alone
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]


def test_sentences_past_the_token_limit_get_a_zero_row(real_embedder: SentenceTransformerEmbedder) -> None:
    long = "word " * 400 + "The last sentence is far past the limit."
    _, pooled = real_embedder.encode_passages([long], [[(0, 20), (len(long) - 41, len(long))]])
    assert np.linalg.norm(pooled[0][0]) > 0.99
    assert not pooled[0][1].any()


def test_a_model_that_tokenizes_differently_inside_encode_gets_sentences_encoded_apart(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    from config.settings import EmbeddingSettings

    prompted = SentenceTransformerEmbedder(EmbeddingSettings(model=real_embedder.name))
    prompted.load()
    prompted._model.prompts = {"query": "query: "}  # encode now prepends tokens the offsets lack
    prompted._model.default_prompt_name = "query"
    spans = sentence_spans(TEXT)
    _, pooled = prompted.encode_passages([TEXT], [spans])
    alone = prompted.encode([TEXT[s:e] for s, e in spans])
    assert np.allclose(pooled[0], alone, atol=1e-5)


def test_added_chunks_carry_one_vector_per_sentence(fake_service: CitebotService) -> None:
    from retrieval.models import SourceDocument

    fake_service.add_document(SourceDocument(text=SEED_TEXT, title="Seed", source="test"))
    store = fake_service.kb().store
    chunks = list(store.iter_chunks())
    packed = store.embeddings([c.id for c in chunks], include_sentences=True)
    stored = {cid: unpack_vectors(blob) for cid, (_, blob) in packed.items() if blob is not None}
    assert set(stored) == {c.id for c in chunks}
    for c in chunks:
        assert len(stored[c.id]) == len(sentence_spans(c.text))
    expected = fake_service.embedder.encode([chunks[0].text[s:e] for s, e in sentence_spans(chunks[0].text)])
    assert np.allclose(stored[chunks[0].id], expected, atol=0.01)


def test_retrieval_carries_the_sentence_vectors_of_every_passage(fake_service: CitebotService) -> None:
    from retrieval.models import SourceDocument

    fake_service.add_document(SourceDocument(text=SEED_TEXT, title="Seed", source="test"))
    query = fake_service.prepare("How fast is Kim's train?", k=5)
    found = fake_service.retrieve(query, fake_service.embed(query))
    assert found.passages and set(found.sentence_vectors) == {p.chunk_id for p in found.passages}
    for p in found.passages:
        assert len(found.sentence_vectors[p.chunk_id]) == len(sentence_spans(p.text))
