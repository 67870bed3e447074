"""The scheduled refresh: due articles only, one fetch at a time, a summary per run (injected clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime

import pytest
import pytest_asyncio

from config.settings import Settings
from retrieval.aio import AsyncCitebot
from retrieval.compose import build_async, build_service
from retrieval.freshness import Refresher, RefreshSummary, RefreshTarget
from retrieval.models import FetchOutcome
from tests.clocks import ManualClock
from tests.localweb import LocalWeb, Page, article_html, local_web

DAY = 86_400.0
PAGES = {
    "/changes": "The museum opens at nine in the morning and closes at five in the evening.",
    "/same": "The library lends up to twelve books at a time for three weeks.",
    "/broken": "The swimming pool is heated to twenty-eight degrees all year round.",
    "/gone": "The old cinema shows silent films every Thursday evening at eight.",
}


@pytest.fixture
def web() -> Iterator[LocalWeb]:
    with local_web() as server:
        for path, text in PAGES.items():
            server.pages[path] = Page(article_html(path.strip("/").title(), text), etag=f'"{path}-1"')
        yield server


class Counting:
    """The async service, counting re-fetches in flight (never two at once for one server)."""

    def __init__(self, inner: AsyncCitebot) -> None:
        self.inner = inner
        self.in_flight = self.most = 0
        self.fetched: list[str] = []

    async def list_articles(self, kb: str) -> list:  # type: ignore[type-arg]
        return await self.inner.list_articles(kb)

    async def refetch(self, article_id: str, kb: str, now: datetime | None = None) -> FetchOutcome:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            self.fetched.append(article_id)
            return await self.inner.refetch(article_id, kb, now)
        finally:
            self.in_flight -= 1

    async def store_refetches(self, outcomes: Sequence[FetchOutcome], kb: str) -> list:  # type: ignore[type-arg]
        return await self.inner.store_refetches(outcomes, kb)


@pytest_asyncio.fixture
async def service(settings: Settings) -> AsyncIterator[AsyncCitebot]:
    from tests.fakes import HashEmbedder

    fetch = settings.fetch.model_copy(update={"allow_private_hosts": ["127.0.0.1"], "timeout": 5.0})
    sync = build_service(settings.model_copy(update={"fetch": fetch}), embedder=HashEmbedder())
    service = build_async(sync)
    yield service
    await service.close()
    for name in sync.store.knowledge_bases():
        sync.store.drop_knowledge_base(name)


async def add_pages(service: AsyncCitebot, web: LocalWeb, kb: str = "g1") -> dict[str, str]:
    ids = {}
    for path in PAGES:
        ids[path] = (await service.add_url(web.url(path), kb, "1")).article.id
    await service.add_text(
        "Notes pasted by hand, never fetched again: the ferry leaves at noon.", "Notes", kb, "1"
    )
    return ids


def refresher(
    service: Counting | AsyncCitebot,
    clock: ManualClock,
    targets: list[RefreshTarget],
    summaries: list[RefreshSummary],
) -> Refresher:
    async def listed() -> list[RefreshTarget]:
        return targets

    async def report(summary: RefreshSummary) -> None:
        summaries.append(summary)

    return Refresher(service, listed, report, clock, check_every=600, pause=30)


@pytest.mark.asyncio
async def test_nothing_is_fetched_before_the_interval_has_passed(
    service: AsyncCitebot, web: LocalWeb
) -> None:
    await add_pages(service, web)
    clock, summaries = ManualClock(auto=True), []
    counting = Counting(service)
    job = refresher(counting, clock, [RefreshTarget(1, "g1", DAY)], summaries)
    clock.t += DAY - 60
    assert await job.refresh(RefreshTarget(1, "g1", DAY)) is None
    assert counting.fetched == [] and summaries == []


@pytest.mark.asyncio
async def test_a_run_fetches_each_url_article_once_spread_out_and_reports_what_happened(
    service: AsyncCitebot, web: LocalWeb
) -> None:
    ids = await add_pages(service, web)
    web.pages["/changes"] = Page(
        article_html("Changes", PAGES["/changes"].replace("five", "six")), etag='"c2"'
    )
    # "/same" is left as it was: it answers 304 to its ETag
    web.pages["/broken"] = Page(b"oops", status=500)
    web.pages["/gone"] = Page(b"gone", status=404)
    clock, summaries = ManualClock(auto=True), []
    counting = Counting(service)
    target = RefreshTarget(1, "g1", DAY)
    job = refresher(counting, clock, [target], summaries)
    clock.t += DAY + 1
    start = clock.t
    summary = await job.refresh(target)
    assert summary is not None and summaries == [summary]
    assert sorted(counting.fetched) == sorted(ids.values())  # URL articles only, each once
    assert counting.most == 1
    assert clock.slept == [30, 30, 30] and clock.t == start + 90  # a pause between fetches
    assert (summary.refreshed, summary.changed) == (2, 1)
    assert sorted(a.id for a, _ in summary.failed) == sorted([ids["/broken"], ids["/gone"]])
    assert any("HTTP 500" in why for _, why in summary.failed)
    assert summary.flagged == ()  # gone once: not yet flagged
    same = [h for p, h in web.requests if p == "/same"][-1]
    assert same.get("If-None-Match") == '"/same-1"'
    text = await asyncio.to_thread(service._service.kb("g1").store.article_text, ids["/changes"])
    assert "six in the evening" in (text or "")
    broken = await service.get_article(ids["/broken"], "g1")
    assert "twenty-eight" in (
        await asyncio.to_thread(service._service.kb("g1").store.article_text, broken.id) or ""
    )


@pytest.mark.asyncio
async def test_a_page_gone_at_two_runs_in_a_row_is_flagged_in_the_second_summary(
    service: AsyncCitebot, web: LocalWeb
) -> None:
    ids = await add_pages(service, web)
    web.pages["/gone"] = Page(b"gone", status=410)
    clock, summaries = ManualClock(auto=True), []
    target = RefreshTarget(1, "g1", DAY)
    job = refresher(service, clock, [target], summaries)
    for _ in range(2):
        clock.t += DAY + 1
        await job.refresh(target)
    assert summaries[0].flagged == ()
    assert [a.id for a in summaries[1].flagged] == [ids["/gone"]]
    assert summaries[1].refreshed == 3  # the others were due again a day later
    listed = {a.id: a for a in await service.list_articles("g1")}
    assert listed[ids["/gone"]].flagged  # kept, flagged


@pytest.mark.asyncio
async def test_a_failed_fetch_is_retried_an_interval_later_not_at_every_check(
    service: AsyncCitebot, web: LocalWeb
) -> None:
    ids = await add_pages(service, web)
    web.pages["/broken"] = Page(b"oops", status=500)
    clock, summaries = ManualClock(auto=True), []
    counting = Counting(service)
    target = RefreshTarget(1, "g1", DAY)
    job = refresher(counting, clock, [target], summaries)
    clock.t += DAY + 1
    await job.refresh(target)
    counting.fetched.clear()
    clock.t += 600  # the next check
    assert await job.refresh(target) is None and counting.fetched == []
    clock.t += DAY
    await job.refresh(target)
    assert ids["/broken"] in counting.fetched


@pytest.mark.asyncio
async def test_the_loop_checks_on_schedule_and_never_runs_one_server_twice_at_once(
    service: AsyncCitebot, web: LocalWeb
) -> None:
    await add_pages(service, web)
    clock, summaries = ManualClock(), []
    target = RefreshTarget(1, "g1", DAY)
    job = refresher(service, clock, [target], summaries)
    loop = asyncio.create_task(job.run())
    try:
        async with asyncio.timeout(30):
            while clock.sleeping < 1:  # the first check found nothing due; the loop waits for the next
                await asyncio.sleep(0.02)
        assert summaries == []
        clock.advance(DAY + 600)
        async with asyncio.timeout(30):
            while clock.sleeping < 2:  # the loop's next check, and the run's pause before its second fetch
                await asyncio.sleep(0.05)
        assert await job.check() == []  # already refreshing that server: not started again
        for _ in range(400):  # each pause ends when the clock is moved; the fetches run in threads
            if summaries:
                break
            if clock.sleeping >= 2:
                clock.advance(30)
            await asyncio.sleep(0.05)
        assert len(summaries) == 1 and summaries[0].refreshed == 4
    finally:
        loop.cancel()
        await job.close()


@pytest.mark.asyncio
async def test_message_articles_are_never_due_so_no_empty_summary_is_posted(service: AsyncCitebot) -> None:
    # A message link cannot be fetched again: listed as due, each check would post "refreshed 0".
    await service.add_message(
        "The ferry leaves from pier four on weekdays and pier two at weekends.",
        author="kim",
        date=None,
        link="https://discord.com/channels/1/2/3",
        where="help",
        kb="g1",
        added_by="1",
    )
    clock, summaries = ManualClock(auto=True), []
    counting = Counting(service)
    target = RefreshTarget(1, "g1", DAY)
    job = refresher(counting, clock, [target], summaries)
    clock.t += DAY + 1
    assert await job.refresh(target) is None
    assert counting.fetched == [] and summaries == [] and clock.slept == []
