"""A small knowledge base's dense search runs in process, exactly, and stays in step with the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import retrieval.store
from config.loader import load_settings
from retrieval.chunking import chunk_text
from retrieval.compose import build_service
from retrieval.lexical import LexicalIndex
from retrieval.models import AddResult, SourceDocument
from retrieval.search import KnowledgeBase
from retrieval.service import CitebotService
from retrieval.store import KBStore
from tests.fakes import HashEmbedder

WORDS = [
    "otter",
    "river",
    "stone",
    "kelp",
    "urchin",
    "harbor",
    "tide",
    "salmon",
    "beaver",
    "dam",
    "willow",
    "marsh",
    "heron",
    "frog",
    "reed",
    "granite",
    "quartz",
    "basalt",
    "lava",
    "crater",
    "summit",
    "glacier",
    "valley",
    "canyon",
    "delta",
    "estuary",
    "lagoon",
    "reef",
]
QUESTIONS = ["otter kelp urchin", "granite lava crater", "heron marsh reed frog", "tide harbor salmon"]


def _docs(n: int, seed: int, title: str = "doc") -> list[SourceDocument]:
    rng = np.random.default_rng(seed)
    return [
        SourceDocument(
            text=" ".join(" ".join(rng.choice(WORDS, 9)) + "." for _ in range(12)),
            title=f"{title} {seed}-{i}",
            source="t",
        )
        for i in range(n)
    ]


def _brute_force(kb: KnowledgeBase, vector: np.ndarray) -> list[tuple[str, float]]:
    """Return every live chunk's cosine with vector from the embeddings Chroma stores, best first."""
    query = vector / np.linalg.norm(vector)
    found = []
    for chunk in kb.store.iter_chunks(vectors=True):
        if kb.is_live(chunk) and chunk.vector is not None:
            emb = np.asarray(chunk.vector, dtype=np.float64)
            found.append((chunk.id, float(emb @ query / np.linalg.norm(emb))))
    return sorted(found, key=lambda f: -f[1])


def _assert_exact(service: CitebotService, n: int = 8) -> None:
    """Check the in-process top n against a brute force over the stored embeddings, for each question."""
    kb = service.kb()
    index = kb.lexical()
    for question in QUESTIONS:
        vector = service.embedder.encode([question])[0]
        got = index.nearest(vector, n)
        assert got is not None, "the index holds every live chunk"
        want = _brute_force(kb, vector)[:n]
        assert [score for _, score in got] == pytest.approx([s for _, s in want], abs=1e-5)
        cut = want[-1][1] + 1e-5  # ties at the n-th score may come in any order
        assert {c.id for c, score in got if score > cut} == {cid for cid, s in want if s > cut}
        for chunk, _ in got:  # held with the text and sentence vectors the store has
            stored = kb.store.chunks_by_id([chunk.id])[chunk.id]
            assert (chunk.text, chunk.sentences) == (stored.text, stored.sentences)


def test_in_process_top_k_equals_a_brute_force_over_stored_embeddings(fake_service: CitebotService) -> None:
    fake_service.add_documents(_docs(12, 1))
    _assert_exact(fake_service, 8)
    _assert_exact(fake_service, 30)


def _grow_and_shrink(writer: CitebotService, reader: CitebotService, seed: int) -> list[AddResult]:
    """Add two batches of articles and remove one through writer, checking reader after each."""
    added = writer.add_documents(_docs(6, seed))
    _assert_exact(reader)
    writer.add_documents(_docs(3, seed + 1))
    _assert_exact(reader)
    writer.remove(added[0].article.id)
    _assert_exact(reader)
    return added


def test_it_follows_adds_removals_and_refreshes_in_this_process(fake_service: CitebotService) -> None:
    added = _grow_and_shrink(fake_service, fake_service, 2)
    kb = fake_service.kb()
    assert not any(
        c.article_id == added[0].article.id for c, _ in kb.lexical().nearest(np.ones(256), 500) or []
    )
    changed = SourceDocument(text="otter kelp " * 40, title=added[1].article.title, source="t")
    fake_service.add_document(changed)  # a new version of a new article
    _assert_exact(fake_service)


def test_it_follows_another_writer(two_services: tuple[CitebotService, CitebotService]) -> None:
    writer, reader = two_services
    added = _grow_and_shrink(writer, reader, 4)
    # Removed and added again under another title while the reader looked away: new embeddings
    # under the chunk ids it holds.
    writer.remove(added[2].article.id)
    text = _docs(6, 4)[2].text
    writer.add_document(SourceDocument(text=text, title="Otter kelp granite heron", source="t"))
    assert reader.kb().articles[added[2].article.id].title == "Otter kelp granite heron"
    _assert_exact(reader, 30)  # every chunk


def test_the_held_chunks_survive_a_reload_and_a_new_title(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = fake_service.add_documents(_docs(6, 6))
    kb = fake_service.kb()
    kb.lexical()
    loaded = LexicalIndex.load(fake_service.index_dir(kb.store.name), kb._embedder, 100)
    assert loaded is not None
    index, _ = loaded
    index.set_live(dict(kb.versions))
    assert index.prepare_vectors() == []  # all held from the files: nothing to read
    vector = fake_service.embedder.encode([QUESTIONS[0]])[0]
    assert [c.id for c, _ in index.nearest(vector, 5) or []] == [
        c.id for c, _ in kb.lexical().nearest(vector, 5) or []
    ]
    # A title change re-embeds the chunks under the same ids: their held rows are read again.
    first = added[0].article
    fake_service.remove(first.id)
    doc = _docs(6, 6)[0]
    fake_service.add_document(SourceDocument(text=doc.text, title="Renamed otters", source="t"))
    _assert_exact(fake_service)


def test_a_knowledge_base_past_the_size_asks_chroma(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_service.settings.search, "exact_max_chunks", 10)
    fake_service.add_documents(_docs(8, 7))
    kb = fake_service.kb()
    assert kb.lexical().nearest(np.ones(256), 5) is None
    assert all(seg.vectors is None and seg.texts is None for seg in kb.lexical().segments)  # memory freed
    queried: list[int] = []
    real = KBStore.query_ids

    def counted(self: KBStore, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        queried.append(n)
        return real(self, vector, n)

    monkeypatch.setattr(KBStore, "query_ids", counted)
    assert fake_service.ask(QUESTIONS[0]).citations
    assert queried


def test_held_search_reads_nothing_and_equals_the_chroma_search(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_service.add_documents(_docs(10, 8))
    kb = fake_service.kb()
    settings = fake_service.settings.search
    vectors = {q: fake_service.embedder.encode([q])[0] for q in QUESTIONS}
    with monkeypatch.context() as m:
        m.setattr(kb, "_exact_max", 0)
        m.setattr(kb, "_lexical", None)  # reopened from its files, holding no rows
        chroma = {q: kb.search(q, v, settings, 3) for q, v in vectors.items()}
    kb._lexical = None
    kb.lexical()

    calls: list[str] = []
    real = retrieval.store._chroma_call

    def call(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(what)
        return real(what, func, *args, **kwargs)

    monkeypatch.setattr(retrieval.store, "_chroma_call", call)
    for q, v in vectors.items():
        got, want = kb.search(q, v, settings, 3), chroma[q]
        assert [(p.chunk_id, p.text, p.bm25) for p in got.passages] == [
            (p.chunk_id, p.text, p.bm25) for p in want.passages
        ]
        assert [p.score for p in got.passages] == pytest.approx([p.score for p in want.passages], abs=1e-5)
        assert got.sentence_vectors.keys() == want.sentence_vectors.keys()
    assert set(calls) <= {"reading the state"}  # no query, no read of chunks or vectors


def test_numpy_blas_runs_on_one_thread(fake_service: CitebotService) -> None:
    from threadpoolctl import threadpool_info

    numpy_blas = [i for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]
    assert numpy_blas
    assert all(i["num_threads"] == 1 for i in numpy_blas)


def _files_hold_rows(directory: Path) -> list[bool]:
    """Tell, per saved segment, whether its files hold rows (embeddings, texts)."""
    held = []
    for npz in sorted(directory.glob("*.npz")):
        with np.load(npz) as arrays:
            texts = "texts" in json.loads(npz.with_suffix(".json").read_text(encoding="utf-8"))
            held.append("vectors" in arrays and texts)
    return held


def test_a_knowledge_base_that_outgrows_the_size_saves_its_index_without_rows(
    fake_service: CitebotService,
) -> None:
    fake_service.add_documents(_docs(6, 10))
    kb = fake_service.kb()
    index_dir = fake_service.index_dir(kb.store.name)
    assert all(_files_hold_rows(index_dir))
    kb.lexical().exact_max = kb.lexical().size  # full: the next chunks go past the size
    fake_service.add_documents(_docs(1, 11))  # a small segment: the big one stays unmerged
    assert kb.lexical().nearest(np.ones(256), 5) is None
    saved = _files_hold_rows(index_dir)
    assert saved
    assert not any(saved)  # a later load reads no rows only to drop them


def test_an_index_reopened_without_rows_takes_an_add_beside_a_dead_segment(tmp_path: Path) -> None:
    from config.loader import load_settings
    from retrieval.compose import build_service
    from tests.fakes import HashEmbedder

    def service(exact_max: int) -> CitebotService:
        settings = load_settings(data_dir=tmp_path / "data")
        settings.search.exact_max_chunks = exact_max
        return build_service(settings, embedder=HashEmbedder())

    first = service(0)  # no rows held (or another embedder's): the index is saved without them
    first.add_documents(_docs(3, 1, "big"))
    first.ask(QUESTIONS[0])
    small = first.add_document(_docs(1, 2, "small")[0])  # a segment of its own
    first.ask(QUESTIONS[0])
    first.remove(small.article.id)  # a segment of dead chunks only
    first.ask(QUESTIONS[0])
    first.close()
    second = service(15_000)
    try:
        second.ask(QUESTIONS[0])
        second.add_document(_docs(1, 3, "later")[0])  # merges the new segment with the dead one
        assert second.ask(QUESTIONS[1]).citations
        _assert_exact(second)
    finally:
        second.close()


def test_a_text_cut_again_with_other_settings_is_not_served_from_the_old_cut(tmp_path: Path) -> None:
    # Two processes on one store; the writer cuts with another overlap (as many chunks, other bounds).
    settings = load_settings(data_dir=tmp_path / "data")
    chunk = settings.chunk.model_copy(update={"overlap": 300})
    reader = build_service(settings, embedder=HashEmbedder())
    writer = build_service(settings.model_copy(update={"chunk": chunk}), embedder=HashEmbedder())
    try:
        doc = _docs(1, 1)[0]
        old = chunk_text(doc.text, settings.chunk.size, settings.chunk.overlap)
        new = chunk_text(doc.text, chunk.size, chunk.overlap)
        assert len(old) == len(new) and old != new  # what makes the case
        added = reader.add_document(doc).article
        _assert_exact(reader)  # the reader holds the first cut's rows
        writer.remove(added.id)
        writer.add_document(doc)
        held = reader.kb().lexical().nearest(reader.embedder.encode([QUESTIONS[0]])[0], 10) or []
        assert sorted((c.start, c.end, c.text) for c, _ in held) == [(c.start, c.end, c.text) for c in new]
        _assert_exact(reader)
    finally:
        reader.close()
        writer.close()
