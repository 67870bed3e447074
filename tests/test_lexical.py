"""The segmented BM25 index: bm25s's scores, and an incremental index equal to a full rebuild."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from retrieval.lexical import LexicalIndex
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from retrieval.store import StoredChunk
from retrieval.text import sentence_spans, terms
from tests.conftest import SEED_TEXT

SENTENCES = [SEED_TEXT[s:e] for s, e in sentence_spans(SEED_TEXT)]
QUERIES = [
    "How fast is Kim's train?",
    "armored train Russia summit",
    "Why does Kim Jong Un travel by train?",
    "Peskov Kremlin spokesman",
    "Vladivostok Putin",
    "the the train train",  # repeated terms count twice, as in bm25s
    "zebra stripes",  # no term in the vocabulary
]


def _article(rng: random.Random, aid: str, version: str, chunks: int) -> list[StoredChunk]:
    out = []
    for i in range(chunks):
        text = " ".join(rng.sample(SENTENCES, rng.randint(0, 4)))  # empty chunks too
        out.append(StoredChunk(f"{aid}:{version}:{i}", aid, version, i * 500, i * 500 + len(text), text))
    return out


def _results(index: LexicalIndex, n: int = 15) -> list[list[tuple[str, float]]]:
    return [[(c.id, score) for c, score in index.search(q, n)] for q in QUERIES]


def test_scores_equal_bm25s_on_the_same_chunks() -> None:
    import bm25s

    chunks = [c for i in range(40) for c in _article(random.Random(i), f"a{i}", "v1", 3)]
    ours = LexicalIndex.build(chunks)
    theirs = bm25s.BM25()
    theirs.index([terms(c.text) or ["\x00"] for c in chunks], show_progress=False)
    for query in QUERIES[:-1]:
        want = np.asarray(theirs.get_scores(terms(query)))
        got = {c.id: s for c, s in ours.search(query, len(chunks))}
        assert got, query
        for i, chunk in enumerate(chunks):
            assert got.get(chunk.id, 0.0) == pytest.approx(float(want[i]), rel=1e-5, abs=1e-6), query


@pytest.mark.parametrize("seed", range(6))
def test_an_index_grown_one_article_at_a_time_equals_a_full_rebuild(seed: int) -> None:
    rng = random.Random(seed)
    stored: dict[str, list[StoredChunk]] = {}  # what the store holds: every version
    versions: dict[str, str] = {}
    index = LexicalIndex()
    for step in range(40):
        roll = rng.random()
        if versions and roll < 0.15:  # remove an article
            del versions[rng.choice(sorted(versions))]
        else:  # add an article, or a new version of one (replacing it)
            aid = rng.choice(sorted(versions)) if versions and roll < 0.35 else f"a{step}"
            version = f"v{step}"
            stored[f"{aid}:{version}"] = chunks = _article(rng, aid, version, rng.randint(1, 12))
            index.add(chunks)
            versions[aid] = version
        index.set_live(versions)
        live = [c for cs in stored.values() for c in cs if versions.get(c.article_id) == c.version]
        assert _results(index) == _results(LexicalIndex.build(live)), f"step {step}"
        assert index.size == len(live)
    assert len(index.segments) < 12  # merged as a log, not one segment per add
    before = _results(index)
    index.compact()
    assert len(index.segments) == 1 and index.dead_share() == 0.0
    assert _results(index) == before


def test_a_saved_index_reloads_equal_and_an_add_writes_only_its_segment(tmp_path: Path) -> None:
    rng = random.Random(7)
    chunks = [c for i in range(30) for c in _article(rng, f"a{i}", "v1", 4)]
    index = LexicalIndex.build(chunks)
    versions = {c.article_id: c.version for c in chunks}
    index.save(tmp_path, "t1")
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None and loaded[1] == "t1"
    again = loaded[0]
    again.set_live(versions)
    assert _results(again) == _results(index)
    old_files = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.npz")}
    extra = _article(rng, "new", "v1", 3)
    again.add(extra)
    again.set_live({**versions, "new": "v1"})
    again.save(tmp_path, "t2")
    files = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.npz")}
    assert set(old_files) < set(files)  # the big segment stays as it was; one new file
    assert all(files[name] == mtime for name, mtime in old_files.items())
    assert _results(again) == _results(LexicalIndex.build(chunks + extra))


def test_an_unreadable_index_is_absent_not_fatal(tmp_path: Path) -> None:
    LexicalIndex.build(_article(random.Random(1), "a", "v", 3)).save(tmp_path, "t")
    next(tmp_path.glob("*.npz")).write_bytes(b"not an npz")
    assert LexicalIndex.load(tmp_path) is None
    assert LexicalIndex.load(tmp_path / "missing") is None


def _doc(rng: random.Random, i: int) -> SourceDocument:
    return SourceDocument(text=" ".join(rng.sample(SENTENCES, 12)), title=f"doc {i}", source="test")


def test_adding_to_a_knowledge_base_reads_only_the_new_articles_chunks(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(3)
    fake_service.add_documents([_doc(rng, i) for i in range(30)])
    base = fake_service.kb()

    def no_scan(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the whole store was read to add one article")

    monkeypatch.setattr(type(base.store), "iter_chunks", no_scan)
    fake_service.add_document(_doc(rng, 30))
    doomed = sorted(base.articles)[0]
    fake_service.remove(doomed)
    index = base.lexical()
    monkeypatch.undo()
    live = [c for c in base.store.iter_chunks() if base.is_live(c)]
    assert index.size == len(live) and all(c.article_id != doomed for c in live)
    assert _results(index) == _results(LexicalIndex.build(live))


def test_the_index_keeps_no_texts_and_an_index_of_an_older_format_is_not_read(tmp_path: Path) -> None:
    chunks = [c for i in range(10) for c in _article(random.Random(i), f"a{i}", "v1", 3)]
    index = LexicalIndex.build(chunks)
    assert all(c.text == "" for seg in index.segments for c in seg.chunks)
    index.save(tmp_path, "t")
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None
    loaded[0].set_live({c.article_id: c.version for c in chunks})
    assert _results(loaded[0]) == _results(index)
    # Format 5 read "’" apart from "'": its terms differ, so it is not read (the knowledge base rebuilds it).
    manifest = json.loads((tmp_path / "segments.json").read_text(encoding="utf-8"))
    (tmp_path / "segments.json").write_text(json.dumps({**manifest, "format": 5}), encoding="utf-8")
    assert LexicalIndex.load(tmp_path) is None


def test_a_typed_apostrophe_finds_a_typographic_one() -> None:
    chunks = [
        StoredChunk("c1", "a1", "v1", 0, 34, "Mary O'Neill's boat sank off Cork."),
        StoredChunk("c2", "a2", "v1", 0, 40, "Sean O\u2019Brien\u2019s boat sank off Galway."),
    ]
    index = LexicalIndex.build(chunks)
    index.set_live({"a1": "v1", "a2": "v1"})
    (first, best), (_, other) = index.search("What about O'Brien's boat?", 2)
    assert first.id == "c2" and best > other
