"""The service with a fake embedder: adding, asking, removing, refreshing, persistence."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import Settings
from retrieval.adding import article_id_for, content_hash, version_of
from retrieval.chunking import chunk_text, layout_key
from retrieval.compose import build_service
from retrieval.errors import InvalidInput, NotFound, StoreError
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from tests.conftest import SEED_TEXT
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.chroma_server

ZEBRA = SourceDocument(
    text="Zebras are African equines with black and white stripes. Each zebra has a unique stripe pattern.",
    title="Zebras",
    source="test",
)


def _seed_doc() -> SourceDocument:
    return SourceDocument(text=SEED_TEXT, title="Kim's train", source="seed")


def _cited_ids(service: CitebotService, question: str, kb: str | None = None) -> set[str]:
    return {c.article_id for c in service.ask(question, kb, k=5).citations}


def test_added_article_is_listed_with_its_chunk_count(fake_service: CitebotService) -> None:
    result = fake_service.add_document(_seed_doc(), added_by="alice")
    assert result.status == "added"
    [info] = fake_service.list_articles()
    assert info.id == result.article.id
    assert info.chunks == len(chunk_text(SEED_TEXT, 600, 100))
    assert info.added_by == "alice"
    assert info.content_hash == content_hash(SEED_TEXT)


def test_adding_the_same_content_again_is_recognised(fake_service: CitebotService) -> None:
    first = fake_service.add_document(_seed_doc())
    count = fake_service.kb().store.count_chunks()
    again = fake_service.add_document(SourceDocument(text=SEED_TEXT, title="Another title", source="x"))
    assert again.status == "already present"
    assert again.article.id == first.article.id
    assert fake_service.kb().store.count_chunks() == count


def test_ask_cites_the_passage_that_answers(fake_service: CitebotService) -> None:
    fake_service.add_document(_seed_doc())
    fake_service.add_document(ZEBRA)
    answer = fake_service.ask("What stripes do zebras have?")
    assert not answer.abstained
    assert "[1]" in answer.answer
    first = answer.citations[0]
    assert first.title == "Zebras"
    assert "stripe" in first.passage
    assert SEED_TEXT.find(first.passage) == -1


def test_citation_spans_point_into_the_article_text(fake_service: CitebotService) -> None:
    fake_service.add_document(_seed_doc())
    answer = fake_service.ask("How fast does the armored train travel?")
    for c in answer.citations:
        assert SEED_TEXT[c.start : c.end] == c.passage
        for lo, hi in c.highlights:
            assert c.passage[lo:hi] in answer.answer


def test_unrelated_question_abstains(fake_service: CitebotService) -> None:
    fake_service.add_document(_seed_doc())
    answer = fake_service.ask("Who painted the Mona Lisa?")
    assert answer.abstained
    assert answer.citations == ()


def test_removed_article_leaves_dense_and_bm25_results(fake_service: CitebotService) -> None:
    fake_service.add_document(_seed_doc())
    zebra = fake_service.add_document(ZEBRA).article
    assert zebra.id in _cited_ids(fake_service, "zebra stripes")
    fake_service.remove(zebra.id)
    kb = fake_service.kb()
    vector = fake_service.embedder.encode(["zebra stripes"])[0]
    for mode in ("dense", "bm25"):
        hits = kb.search(
            "zebra stripes", vector, fake_service.settings.search.model_copy(update={"mode": mode}), 10
        )
        assert zebra.id not in {h.article_id for h in hits.passages}
    assert all(c.article_id != zebra.id for c in kb.store.iter_chunks())


def test_removing_an_unknown_id_is_not_found(fake_service: CitebotService) -> None:
    with pytest.raises(NotFound, match="nosuchid"):
        fake_service.remove("nosuchid")


def test_articles_survive_a_new_service_on_the_same_store(
    fake_service: CitebotService, settings: Settings
) -> None:
    added = fake_service.add_document(ZEBRA).article
    reopened = build_service(settings, embedder=HashEmbedder())
    assert [a.id for a in reopened.list_articles()] == [added.id]
    assert added.id in _cited_ids(reopened, "zebra stripe pattern")


def test_an_interrupted_add_is_invisible_and_re_adding_completes_it(fake_service: CitebotService) -> None:
    doc = ZEBRA
    c = fake_service.settings.chunk
    chunks = chunk_text(doc.text, c.size, c.overlap)
    version = version_of(content_hash(doc.text), layout_key(c.size, c.overlap))
    kb = fake_service.kb()
    # Simulate a crash after the chunks were written but before the article was committed: the
    # very ids the add writes again.
    vectors = fake_service.embedder.encode([c.text for c in chunks])
    kb.store.put_many([(article_id_for(doc), version, chunks, vectors)])
    kb.sync()
    assert fake_service.list_articles() == []
    assert fake_service.ask("zebra stripes").abstained
    result = fake_service.add_document(doc)
    assert (result.article.id, result.status) == (article_id_for(doc), "added")
    assert result.article.id in _cited_ids(fake_service, "zebra stripes")
    assert kb.store.count_chunks() == len(chunks)  # written again over the crash's, not beside them


def test_a_new_version_stays_hidden_until_committed(fake_service: CitebotService) -> None:
    old = SourceDocument(
        text="The bridge is painted red. It opened in 1990.",
        title="Bridge",
        source="u",
        url="https://example.test/bridge",
    )
    new = SourceDocument(
        text="The bridge is painted blue. It opened in 1990.",
        title="Bridge",
        source="u",
        url="https://example.test/bridge",
    )
    article = fake_service.add_document(old).article
    kb = fake_service.kb()
    c = fake_service.settings.chunk
    chunks = chunk_text(new.text, c.size, c.overlap)
    version = version_of(content_hash(new.text), layout_key(c.size, c.overlap))
    kb.store.put_many(
        [
            (
                article.id,
                version,
                chunks,
                fake_service.embedder.encode([c.text for c in chunks]),
            )
        ]
    )
    kb.sync()
    passages = fake_service.ask("What colour is the bridge painted?").citations
    assert [p.passage for p in passages] == [old.text]
    result = fake_service.add_document(new)
    assert result.status == "updated"
    assert [p.passage for p in fake_service.ask("What colour is the bridge painted?").citations] == [new.text]
    assert {c.version for c in kb.store.iter_chunks()} == {version}


def test_knowledge_bases_are_separate(fake_service: CitebotService) -> None:
    fake_service.add_document(ZEBRA, kb="g1")
    fake_service.add_document(_seed_doc(), kb="g2")
    assert [a.title for a in fake_service.list_articles("g1")] == ["Zebras"]
    assert "Zebras" not in {c.title for c in fake_service.ask("zebra stripes", "g2").citations}


@pytest.mark.parametrize("name", ["", "UPPER", "a/b", "../x", "x" * 49, "-lead"])
def test_bad_knowledge_base_names_are_refused(fake_service: CitebotService, name: str) -> None:
    with pytest.raises(InvalidInput, match="knowledge base name"):
        fake_service.list_articles(name)


@pytest.mark.parametrize(
    ("question", "problem"),
    [
        ("   ", "empty"),
        ("\u200b\u200b \ufeff", "empty"),
        ("why " * 200, "limit"),
        ("é" * 600, "600 characters"),
    ],
)
def test_bad_questions_are_refused(fake_service: CitebotService, question: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        fake_service.ask(question)


def test_a_question_is_counted_as_read_not_as_typed(fake_service: CitebotService) -> None:
    limit = fake_service.settings.limits.max_question_chars
    typed = "e\u0301" * (limit // 2 + 10)  # each "é" typed as two code points
    assert fake_service.validate_question(typed) == "\u00e9" * (limit // 2 + 10)
    assert fake_service.validate_question("why \u200b?") == "why \u200b?"  # kept inside a question


def _corrupt(index_dir: Path) -> None:
    for path in index_dir.iterdir():
        path.write_bytes(b"\x00garbage")


@pytest.mark.parametrize("damage", [_corrupt, shutil.rmtree], ids=["corrupted", "missing"])
def test_a_damaged_bm25_index_is_rebuilt_from_chroma(
    fake_service: CitebotService, settings: Settings, damage: Callable[[Path], None]
) -> None:
    article = fake_service.add_document(ZEBRA).article
    damage(fake_service.index_dir("default"))
    reopened = build_service(settings, embedder=HashEmbedder())
    hits = (
        reopened.kb()
        .search("zebra stripes", None, settings.search.model_copy(update={"mode": "bm25"}), 3)
        .passages
    )
    assert article.id in {h.article_id for h in hits}


def test_a_store_built_with_another_model_is_refused(
    fake_service: CitebotService, settings: Settings
) -> None:
    fake_service.add_document(ZEBRA)
    other = build_service(settings, embedder=HashEmbedder(name="other-model"))
    with pytest.raises(StoreError, match="other-model"):
        other.list_articles()


def test_a_change_by_another_process_is_seen_by_the_next_search(
    fake_service: CitebotService, settings: Settings
) -> None:
    fake_service.add_document(_seed_doc())
    assert fake_service.ask("zebra stripes").abstained
    writer = build_service(settings, embedder=HashEmbedder())
    writer.add_document(ZEBRA)
    assert not fake_service.ask("What stripes do zebras have?").abstained


def test_adding_several_documents_at_once_reports_each_in_order(fake_service: CitebotService) -> None:
    first = SourceDocument(text="Owls hunt at night in the forest.", title="Owls", source="t")
    second = SourceDocument(text="Otters hold hands while they sleep.", title="Otters", source="t")
    results = fake_service.add_documents([first, second, first, ZEBRA])
    assert [(r.article.title, r.status) for r in results] == [
        ("Owls", "added"),
        ("Otters", "added"),
        ("Owls", "already present"),
        ("Zebras", "added"),
    ]
    assert sorted(a.title for a in fake_service.list_articles()) == ["Otters", "Owls", "Zebras"]
    stored = list(fake_service.kb().store.iter_chunks())
    assert len(stored) == sum(a.chunks for a in fake_service.list_articles())
    assert "Otters" in {c.title for c in fake_service.ask("Do otters hold hands while sleeping?").citations}


def test_an_answer_reports_the_time_of_each_stage_and_the_total(fake_service: CitebotService) -> None:
    fake_service.add_document(ZEBRA)
    timings = fake_service.ask("What stripes do zebras have?").timings_ms
    assert {"embed", "search", "answer", "total"} <= set(timings)
    assert timings["total"] >= timings["embed"] + timings["search"] + timings["answer"] > 0


def test_a_file_added_before_files_had_ids_is_updated_by_its_next_edit(
    fake_service: CitebotService, tmp_path: Path
) -> None:
    from retrieval import ingest

    limits = fake_service.settings.limits
    # As stored by an older citebot: named by its text ("t..."), its file name as source.
    older = fake_service.add_document(
        SourceDocument("Fred the bicycle is purple.", "bike", "bike.txt")
    ).article
    other = tmp_path / "other"
    other.mkdir()
    (other / "bike.txt").write_text("Fred the bicycle is orange.", encoding="utf-8")
    again = fake_service.add_document(ingest.from_path(other / "bike.txt", None, limits))
    assert (again.article.id, again.status) == (older.id, "updated")
    # Two older articles of one name: no telling which; the file gets its own article.
    fake_service.add_document(SourceDocument("Notes on owls.", "notes", "notes.txt"))
    fake_service.add_document(SourceDocument("Notes on otters.", "notes", "notes.txt"))
    (other / "notes.txt").write_text("Notes on beavers.", encoding="utf-8")
    added = fake_service.add_document(ingest.from_path(other / "notes.txt", None, limits))
    assert added.status == "added" and added.article.id.startswith("f")


def test_updating_several_articles_deletes_their_old_versions_in_one_write(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def doc(n: int, colour: str) -> SourceDocument:
        return SourceDocument(
            f"Bridge {n} is painted {colour}.", f"Bridge {n}", "u", url=f"https://example.test/b{n}"
        )

    fake_service.add_documents([doc(n, "red") for n in range(3)])
    kb = fake_service.kb()
    chunks = kb.store._chunks
    deletes: list[object] = []
    real = chunks.delete
    monkeypatch.setattr(chunks, "delete", lambda **kw: deletes.append(kw) or real(**kw))
    results = fake_service.add_documents([doc(n, "blue") for n in range(3)])
    assert [r.status for r in results] == ["updated"] * 3
    assert len(deletes) == 1  # one write to the index, not one an article
    assert {c.version for c in kb.store.iter_chunks()} == set(kb.versions.values())
    assert all("blue" in c.text for c in kb.store.iter_chunks())
