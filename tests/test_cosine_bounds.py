"""BM25 hits' cosines bounded by 8-bit embeddings: never below the truth, and the same search results."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest

import retrieval.search
from config.settings import SearchSettings
from retrieval.lexcodes import quantize, uppers
from retrieval.lexical import Hit, LexicalIndex
from retrieval.models import SourceDocument
from retrieval.search import Hits, KnowledgeBase
from retrieval.service import CitebotService
from retrieval.store import KBStore, StoredChunk
from tests.test_lexical import QUERIES, SENTENCES

QUESTIONS = [*QUERIES, "Who is the Kremlin spokesman?", "What did the train carry?"]


def _unit(rng: np.random.Generator, rows: int, dim: int = 384) -> np.ndarray:
    x = rng.standard_normal((rows, dim)).astype(np.float32)
    x[: rows // 4] *= rng.random((rows // 4, dim)) < 0.05  # sparse rows too
    x[: rows // 4, 0] += 1.0
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def _chunks(vectors: np.ndarray) -> list[StoredChunk]:
    texts = [" ".join(random.Random(i).sample(SENTENCES, 3)) for i in range(len(vectors))]
    return [
        StoredChunk(f"a{i}:v:0", f"a{i}", "v", 0, len(t), t, vector=vectors[i]) for i, t in enumerate(texts)
    ]


def test_the_bound_is_never_below_the_cosine_and_close_to_it() -> None:
    rng = np.random.default_rng(0)
    vectors, queries = _unit(rng, 400), _unit(rng, 20)
    codes, scales = quantize(vectors)
    for query in queries.astype(np.float64):
        exact = vectors.astype(np.float64) @ query
        upper = np.asarray(uppers(codes, scales, range(len(vectors)), query), dtype=np.float64)
        assert np.all(upper >= exact)
        assert np.all(upper - exact < 0.05)


def test_an_index_keeps_its_bounds_through_merges_and_a_reload(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    chunks = _chunks(_unit(rng, 60))
    index = LexicalIndex()
    for lo in range(0, 60, 7):  # many adds: segments merge
        index.add(chunks[lo : lo + 7])
        index.set_live({c.article_id: c.version for c in chunks[: lo + 7]})
    index.save(tmp_path, "t")
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None
    loaded[0].set_live({c.article_id: c.version for c in chunks})
    query = _unit(rng, 1)[0]
    exact = {c.id: float(np.dot(c.vector, query)) for c in chunks if c.vector is not None}
    for got in (index, loaded[0]):
        hits = got.hits("Kim train Russia", 60, query)
        assert hits and all(h.upper is not None and h.upper >= exact[h.chunk.id] for h in hits)
    assert [h.upper for h in index.hits("Kim train", 60, query)] == [
        h.upper for h in loaded[0].hits("Kim train", 60, query)
    ]
    unbounded = LexicalIndex.build([dataclasses.replace(c, vector=None) for c in chunks])
    assert all(h.upper is None for h in unbounded.hits("Kim train", 60, query))


def _read_all(
    hits: list[Hit], dense: dict[str, float | None], settings: SearchSettings, k: int
) -> tuple[dict[str, float], list[str]]:
    """The search before bounds: every BM25 hit without a cosine is read."""
    fused, _ = _fuse_known(hits, dense, settings, k)
    return fused, [h.chunk.id for h in hits if h.chunk.id not in dense]


_fuse_known = retrieval.search._fuse_known


def test_search_results_equal_reading_every_hits_cosine(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_service.settings.search, "exact_max_chunks", 0)  # the bounds' path: HNSW
    rng = random.Random(5)
    docs = [
        SourceDocument(text=" ".join(rng.sample(SENTENCES, 10)), title=f"doc {i}", source="t")
        for i in range(25)
    ]
    fake_service.add_documents(docs)
    kb: KnowledgeBase = fake_service.kb()
    questions = QUESTIONS + [" ".join(s.split()[:6]) for s in SENTENCES[::3]]  # a sentence's own words
    cases = [(candidates, k, q) for candidates, k in ((3, 3), (8, 1), (8, 3), (30, 2)) for q in questions]
    read: list[int] = []
    by_id, vectors_of = KBStore.chunks_by_id, KBStore.embeddings

    def counted(self: KBStore, ids: list[str], vectors: bool = False) -> dict[str, StoredChunk]:
        read.append(len(ids))
        return by_id(self, ids, vectors)

    def counted_vectors(self: KBStore, ids: list[str]) -> dict[str, tuple[np.ndarray, str | None]]:
        read.append(len(ids))
        return vectors_of(self, ids)

    monkeypatch.setattr(KBStore, "chunks_by_id", counted)
    monkeypatch.setattr(KBStore, "embeddings", counted_vectors)
    got = [_search(fake_service, kb, case) for case in cases]
    reads_bounded = sum(read)
    monkeypatch.setattr(retrieval.search, "_fuse_known", _read_all)
    for case, hits in zip(cases, got, strict=True):
        want = _search(fake_service, kb, case)
        assert [(p.chunk_id, p.score, p.dense, p.bm25, p.text) for p in hits.passages] == [
            (p.chunk_id, p.score, p.dense, p.bm25, p.text) for p in want.passages
        ], case
        assert hits.sentence_vectors.keys() == want.sentence_vectors.keys()
    assert reads_bounded < sum(read) - reads_bounded  # the bounds left some hits unread


def _search(service: CitebotService, kb: KnowledgeBase, case: tuple[int, int, str]) -> Hits:
    candidates, k, question = case
    settings = service.settings.search.model_copy(update={"candidates": candidates})
    return kb.search(question, service.embedder.encode([question])[0], settings, k)
