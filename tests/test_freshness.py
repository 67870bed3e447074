"""Freshness of URL articles: fetch times, conditional re-fetches, vanished pages (local web server)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from retrieval.compose import build_service
from retrieval.errors import FetchError, Gone
from retrieval.service import CitebotService
from tests.fakes import HashEmbedder
from tests.localweb import LocalWeb, Page, article_html, local_web

FERRY = (
    "The harbour ferry crosses the bay every twenty minutes during the day.\n\n"
    "At night the ferry runs once an hour, and the last boat leaves at midnight. "
    "Tickets cost four dollars for adults."
)
LATER = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.chroma_server  # also run against a Chroma server (make test-server)


@pytest.fixture
def web() -> Iterator[LocalWeb]:
    with local_web() as server:
        yield server


@pytest.fixture
def service(settings: Settings) -> Iterator[CitebotService]:
    fetch = settings.fetch.model_copy(update={"allow_private_hosts": ["127.0.0.1"], "timeout": 5.0})
    service = build_service(settings.model_copy(update={"fetch": fetch}), embedder=HashEmbedder())
    yield service
    service.close()
    for name in service.store.knowledge_bases():
        service.store.drop_knowledge_base(name)


def ferry(text: str = FERRY, **page: object) -> Page:
    return Page(article_html("Harbour ferry", text), **page)  # type: ignore[arg-type]


def test_a_url_article_keeps_when_it_was_fetched_and_its_validators(
    service: CitebotService, web: LocalWeb
) -> None:
    web.pages["/ferry"] = ferry(etag='"v1"', last_modified="Wed, 01 May 2030 10:00:00 GMT")
    before = datetime.now(UTC) - timedelta(seconds=1)
    info = service.add_source(web.url("/ferry")).article
    stored = service.get_article(info.id)
    assert stored.fetched_at is not None and stored.fetched_at == stored.changed_at
    assert datetime.fromisoformat(stored.fetched_at) >= before
    assert (stored.etag, stored.last_modified) == ('"v1"', "Wed, 01 May 2030 10:00:00 GMT")
    assert stored.vanished == 0 and not stored.flagged


def test_a_pasted_article_has_no_fetch_time(service: CitebotService) -> None:
    info = service.add_document(service_doc(service)).article
    assert service.get_article(info.id).fetched_at is None


def service_doc(service: CitebotService) -> object:
    from retrieval import ingest

    return ingest.from_text(FERRY, "Ferry notes", service.settings.limits)


def test_a_304_keeps_the_text_and_only_moves_the_fetch_time(service: CitebotService, web: LocalWeb) -> None:
    web.pages["/ferry"] = ferry(etag='"v1"')
    info = service.add_source(web.url("/ferry")).article
    calls = service.embedder.calls  # type: ignore[attr-defined]
    outcome = service.refetch(info.id, now=LATER)
    assert web.requests[-1][1].get("If-None-Match") == '"v1"'
    assert not outcome.changed and outcome.error is None
    [result] = service.store_refetches([outcome])
    assert result is not None and result.status == "unchanged"
    stored = service.get_article(info.id)
    assert stored.fetched_at == LATER.isoformat(timespec="seconds")
    assert stored.changed_at == info.changed_at and stored.content_hash == info.content_hash
    assert service.embedder.calls == calls  # type: ignore[attr-defined]


def test_last_modified_is_sent_back_as_if_modified_since(service: CitebotService, web: LocalWeb) -> None:
    stamp = "Wed, 01 May 2030 10:00:00 GMT"
    web.pages["/ferry"] = ferry(last_modified=stamp)
    info = service.add_source(web.url("/ferry")).article
    assert service.refresh(info.id).status == "unchanged"
    assert web.requests[-1][1].get("If-Modified-Since") == stamp


def test_without_validators_the_text_hash_decides_and_nothing_is_embedded(
    service: CitebotService, web: LocalWeb
) -> None:
    web.pages["/ferry"] = ferry()
    info = service.add_source(web.url("/ferry")).article
    calls = service.embedder.calls  # type: ignore[attr-defined]
    assert service.refresh(info.id).status == "unchanged"
    assert "If-None-Match" not in web.requests[-1][1]
    assert service.embedder.calls == calls  # type: ignore[attr-defined]


def test_a_changed_page_becomes_the_new_version(service: CitebotService, web: LocalWeb) -> None:
    web.pages["/ferry"] = ferry(etag='"v1"')
    info = service.add_source(web.url("/ferry")).article
    web.pages["/ferry"] = ferry(FERRY.replace("four dollars", "six dollars"), etag='"v2"')
    outcome = service.refetch(info.id, now=LATER)
    assert outcome.changed
    [result] = service.store_refetches([outcome])
    assert result is not None and result.status == "updated"
    stored = service.get_article(info.id)
    assert stored.changed_at == stored.fetched_at == LATER.isoformat(timespec="seconds")
    assert stored.etag == '"v2"' and stored.added_at == info.added_at
    assert "six dollars" in (service.kb().store.article_text(info.id) or "")


def test_a_failed_fetch_keeps_the_old_version(service: CitebotService, web: LocalWeb) -> None:
    web.pages["/ferry"] = ferry()
    info = service.add_source(web.url("/ferry")).article
    web.pages["/ferry"] = ferry(status=500)
    with pytest.raises(FetchError, match="HTTP 500"):
        service.refresh(info.id)
    stored = service.get_article(info.id)
    assert stored == info
    assert "four dollars" in (service.kb().store.article_text(info.id) or "")
    assert service.kb().store.count_chunks() == info.chunks


def test_a_page_gone_twice_is_flagged_and_kept_until_it_returns(
    service: CitebotService, web: LocalWeb
) -> None:
    web.pages["/ferry"] = ferry()
    info = service.add_source(web.url("/ferry")).article
    web.pages["/ferry"] = ferry(status=404)
    with pytest.raises(Gone):
        service.refresh(info.id)
    assert service.get_article(info.id).vanished == 1 and not service.get_article(info.id).flagged
    web.pages["/ferry"] = ferry(status=410)
    with pytest.raises(Gone):
        service.refresh(info.id)
    stored = service.get_article(info.id)
    assert stored.flagged and stored.vanished == 2
    assert [a.id for a in service.list_articles()] == [info.id]  # flagged, not deleted
    assert service.kb().store.article_text(info.id)
    web.pages["/ferry"] = ferry()
    assert service.refresh(info.id).status == "unchanged"
    assert service.get_article(info.id).vanished == 0


def test_an_article_stored_without_freshness_stays_readable_and_refreshable(
    service: CitebotService, web: LocalWeb
) -> None:
    web.pages["/ferry"] = ferry(etag='"v1"')
    info = service.add_source(web.url("/ferry")).article
    # As written before freshness was kept: the same record without its freshness keys.
    col = service.kb().store._articles
    old_keys = dict.fromkeys(("fetched_at", "changed_at", "etag", "last_modified", "vanished"))
    col.update(ids=[info.id], metadatas=[old_keys])  # None deletes a key
    service.kb().store._bump()
    old = service.get_article(info.id)
    assert (old.fetched_at, old.etag, old.vanished) == (None, None, 0)
    assert service.refresh(info.id).status == "unchanged"
    assert "If-None-Match" not in web.requests[-1][1]  # nothing to send back yet
    assert service.get_article(info.id).etag == '"v1"'
