"""Open knowledge bases: a bounded LRU; a closed one reopens from disk with the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import load_settings
from retrieval.kbcache import OpenCache
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from retrieval.store import ChromaStore
from tests.fakes import HashEmbedder

FACTS = {
    "zebras": "Zebras are African equines with black and white stripes. Each zebra has a unique pattern.",
    "comets": "Comets are icy bodies that grow glowing tails when they pass close to the Sun.",
    "bees": "Honey bees dance to tell their hive mates where the flowers with nectar are.",
}
QUESTIONS = {
    "zebras": "What stripes do zebras have?",
    "comets": "When do comets grow tails?",
    "bees": "Why do bees dance?",
}


def test_the_least_recently_used_item_is_closed_first() -> None:
    opened: list[str] = []
    cache: OpenCache[str] = OpenCache(2)

    def open_item(name: str) -> str:
        opened.append(name)
        return name.upper()

    assert cache.get("a", open_item) == "A"
    cache.get("b", open_item)
    cache.get("a", open_item)  # a is now the most recent
    cache.get("c", open_item)  # closes b
    assert "b" not in cache and "a" in cache and "c" in cache and len(cache) == 2
    cache.get("b", open_item)  # reopened, closes a
    assert opened == ["a", "b", "c", "b"]
    assert (cache.opened, cache.closed) == (4, 2)


def test_a_closed_items_write_lock_is_the_reopened_ones() -> None:
    cache: OpenCache[object] = OpenCache(1)
    cache.get("a", lambda _: object())
    lock = cache.write_lock("a")
    cache.get("b", lambda _: object())  # closes a
    assert "a" not in cache
    assert cache.write_lock("a") is lock and cache.write_lock("b") is not lock


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        OpenCache(0)


@pytest.fixture
def small_cache_service(tmp_path: Path) -> CitebotService:
    settings = load_settings(data_dir=tmp_path / "data", open_kbs=2, chroma={"url": None})
    return CitebotService(settings, HashEmbedder(), ChromaStore.from_settings(settings))


def test_knowledge_bases_stay_separate_while_they_are_closed_and_reopened(
    small_cache_service: CitebotService,
) -> None:
    service = small_cache_service
    for name, text in FACTS.items():
        service.add_document(SourceDocument(text=text, title=name, source="test"), kb=name)
    assert len(service._kbs) == 2 and "zebras" not in service._kbs
    for _ in range(2):  # every ask below reopens a closed knowledge base
        for name, question in QUESTIONS.items():
            answer = service.ask(question, kb=name)
            assert not answer.abstained
            assert {c.title for c in answer.citations} == {name}
            assert answer.articles_searched == 1
    assert service._kbs.closed >= 6


def test_a_reopened_knowledge_base_sees_what_was_added_while_it_was_closed(
    small_cache_service: CitebotService,
) -> None:
    service = small_cache_service
    service.add_document(SourceDocument(text=FACTS["zebras"], title="zebras", source="test"), kb="one")
    service.ask(QUESTIONS["zebras"], kb="two")
    service.ask(QUESTIONS["zebras"], kb="three")  # closes "one"
    assert "one" not in service._kbs
    service.add_document(SourceDocument(text=FACTS["bees"], title="bees", source="test"), kb="one")
    answer = service.ask(QUESTIONS["bees"], kb="one")
    assert [c.title for c in answer.citations][:1] == ["bees"]
    assert {a.title for a in service.list_articles("one")} == {"zebras", "bees"}
