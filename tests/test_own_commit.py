"""An add takes its own commit into the article list; another writer's change is still read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import Settings
from retrieval.compose import build_service
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from retrieval.store import KBStore
from tests.fakes import HashEmbedder

OTTERS = SourceDocument(
    text="Sea otters hold hands while they sleep so they do not drift apart.", title="otters", source="t"
)
MOLES = SourceDocument(
    text="Star-nosed moles find food with twenty-two fleshy tentacles.", title="moles", source="t"
)
GEESE = SourceDocument(
    text="Bar-headed geese fly over the Himalayas at great heights.", title="geese", source="t"
)


@pytest.fixture
def two_services(settings: Settings) -> Iterator[tuple[CitebotService, CitebotService]]:
    """Two services on one store, each with its own open knowledge bases: two writers."""
    first = build_service(settings, embedder=HashEmbedder())
    second = build_service(settings, embedder=HashEmbedder())
    yield first, second
    for service in (first, second):
        service.close()
    for name in first.store.knowledge_bases():
        first.store.drop_knowledge_base(name)


def _count_registry_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = KBStore.articles

    def articles(self: KBStore, page: int = 2000) -> Any:
        reads.append(self.name)
        return real(self, page)

    monkeypatch.setattr(KBStore, "articles", articles)
    return reads


def test_an_add_does_not_read_the_registry_again(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_service.add_document(OTTERS)
    reads = _count_registry_reads(monkeypatch)
    added = fake_service.add_document(MOLES)
    assert reads == []
    assert {a.title for a in fake_service.list_articles()} == {"otters", "moles"}
    assert fake_service.get_article(added.article.id).chunks == added.article.chunks
    answer = fake_service.ask("What do star-nosed moles find food with?")
    assert [c.title for c in answer.citations][:1] == ["moles"]
    assert reads == []
    fresh = build_service(fake_service.settings, embedder=HashEmbedder())  # what the store holds
    assert {a.id: a for a in fresh.list_articles()} == {a.id: a for a in fake_service.list_articles()}


def test_a_change_by_another_writer_during_an_add_is_read(
    two_services: tuple[CitebotService, CitebotService], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_services
    first.add_document(OTTERS)
    second.list_articles()
    real_put = KBStore.put_many
    done: list[bool] = []

    def put_many(self: KBStore, *args: Any, **kwargs: Any) -> None:
        real_put(self, *args, **kwargs)
        if not done:  # the other writer commits between our chunks and our commit
            done.append(True)
            second.add_document(GEESE)

    monkeypatch.setattr(KBStore, "put_many", put_many)
    first.add_document(MOLES)
    assert {a.title for a in first.list_articles()} == {"otters", "moles", "geese"}
    assert [c.title for c in first.ask("Which geese fly over the Himalayas?").citations][:1] == ["geese"]
    assert {a.title for a in second.list_articles()} == {"otters", "moles", "geese"}
