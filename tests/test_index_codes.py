"""The BM25 index's 8-bit embeddings never bound an embedding they were not taken from."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import retrieval.lexcodes
from retrieval.lexical import LexicalIndex
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from retrieval.store import StoredChunk

TEXT = "Sea otters hold hands while they sleep so they do not drift apart. Otters eat urchins."
QUESTION = "why do sea otters hold hands while they sleep"


def _bounds_hold(service: CitebotService) -> list[float | None]:
    """Return the otter article's bounds, checking each against its exact cosine."""
    kb = service.kb()
    vector = service.embedder.encode([QUESTION])[0]
    found = []
    for hit in kb.lexical().hits(QUESTION, 30, vector):
        emb, _ = kb.store.embeddings([hit.chunk.id])[hit.chunk.id]
        exact = float(np.dot(np.asarray(emb, dtype=np.float32), vector))
        assert hit.upper is None or hit.upper >= exact, (hit.chunk.id, hit.upper, exact)
        found.append(hit.upper)
    return found


@pytest.mark.parametrize("seen_removed", [True, False])
def test_an_article_added_again_under_another_title_keeps_true_bounds(
    fake_service: CitebotService, seen_removed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_service.settings.search, "exact_max_chunks", 0)  # bounds, not cosines
    others = [
        SourceDocument(text=f"Otters swim in cold water number {i}.", title=f"d{i}", source="t")
        for i in range(6)
    ]
    fake_service.add_documents(others)
    added = fake_service.add_document(SourceDocument(text=TEXT, title="Zulu yankee xray", source="t"))
    assert all(b is not None for b in _bounds_hold(fake_service))  # the codes are used
    fake_service.remove(added.article.id)
    if seen_removed:  # the index sees the removal, or not (another process removed and re-added)
        fake_service.kb().lexical()
    fake_service.add_document(SourceDocument(text=TEXT, title="Sea otters hold hands", source="t"))
    _bounds_hold(fake_service)
    index_dir = fake_service.index_dir(fake_service.settings.kb)
    reloaded = LexicalIndex.load(index_dir, fake_service.kb()._embedder)  # and after a reload
    assert reloaded is not None
    kb = fake_service.kb()
    reloaded[0].set_live(dict(kb.versions))
    vector = fake_service.embedder.encode([QUESTION])[0]
    for hit in reloaded[0].hits(QUESTION, 30, vector):
        emb, _ = kb.store.embeddings([hit.chunk.id])[hit.chunk.id]
        assert hit.upper is None or hit.upper >= float(np.dot(np.asarray(emb, dtype=np.float32), vector))


def _index(dim: int, rows: int = 12) -> LexicalIndex:
    rng = np.random.default_rng(dim)
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [
        StoredChunk(f"a{i}:v:0", f"a{i}", "v", 0, 9, f"otters word{i}", vector=vectors[i])
        for i in range(rows)
    ]
    index = LexicalIndex("model-a")
    index.add(chunks, {c.article_id: "t" for c in chunks})
    index.set_live({c.article_id: "v" for c in chunks})
    return index


def test_codes_of_another_embedder_or_shape_are_dropped_not_fatal(tmp_path: Path) -> None:
    _index(8).save(tmp_path, "t1")
    same = LexicalIndex.load(tmp_path, "model-a")
    other = LexicalIndex.load(tmp_path, "model-b")
    assert same is not None and other is not None
    for index, _ in (same, other):
        index.set_live({f"a{i}": "v" for i in range(12)})
    assert all(h.upper is not None for h in same[0].hits("otters", 12, np.ones(8) / 8**0.5))
    assert all(h.upper is None for h in other[0].hits("otters", 12, np.ones(8) / 8**0.5))
    # A query of another dimension than the codes (a model swapped in memory): no bounds, no crash.
    assert all(h.upper is None for h in same[0].hits("otters", 12, np.ones(16) / 4))
    # Codes that do not match their chunks (a damaged file) are dropped on load.
    seg = same[0].segments[0]
    seg.codes, seg.scales = seg.codes[:5], seg.scales  # type: ignore[index]
    seg.name = "damaged"
    same[0].save(tmp_path, "t2")
    damaged = LexicalIndex.load(tmp_path, "model-a")
    assert damaged is not None
    damaged[0].set_live({f"a{i}": "v" for i in range(12)})
    assert [h.upper for h in damaged[0].hits("otters", 12, np.ones(8) / 8**0.5)] == [None] * 12


def test_an_index_update_waits_for_a_search_in_another_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    index = _index(8, 40)
    index.add([StoredChunk(f"b{i}:v:0", f"b{i}", "v", 0, 9, f"otters b{i}") for i in range(10)])
    index.set_live({**{f"a{i}": "v" for i in range(40)}, **{f"b{i}": "v" for i in range(10)}})
    real = retrieval.lexcodes.uppers
    in_search, updated = threading.Event(), threading.Event()

    def paused(*args: object) -> list[float | None]:
        in_search.set()
        updated.wait(1.0)  # the update below lands here unless it waits for the search
        return real(*args)  # type: ignore[arg-type]

    def update() -> None:
        in_search.wait()
        index.add([StoredChunk(f"c{i}:v:0", f"c{i}", "v", 0, 9, f"otters c{i}") for i in range(30)])
        index.set_live({**{f"a{i}": "v" for i in range(10, 40)}, **{f"c{i}": "v" for i in range(30)}})
        updated.set()

    monkeypatch.setattr(retrieval.lexcodes, "uppers", paused)
    other = threading.Thread(target=update)
    other.start()
    hits = index.hits("otters", 50, np.ones(8) / 8**0.5)
    other.join()
    assert len(hits) == 50 and {h.chunk.article_id for h in hits} >= {f"a{i}" for i in range(40)}
