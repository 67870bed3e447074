"""Scheduled refresh of URL articles: per server, spread over time, one fetch at a time.

A server that sets a refresh interval has each URL article fetched again once that interval
has passed since its last fetch (conditionally: ETag, Last-Modified, else the text's hash).
Due articles are fetched one after another with a pause between them, never two of one
server at once; a failed fetch keeps the old version and is tried again an interval later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from retrieval.clock import Clock, SystemClock
from retrieval.errors import CitebotError
from retrieval.ingest import is_message_link

if TYPE_CHECKING:
    from retrieval.models import AddResult, ArticleInfo, FetchOutcome

log = logging.getLogger(__name__)


class Refetching(Protocol):
    """What the refresher needs from the service (AsyncCitebot offers it)."""

    async def list_articles(self, kb: str) -> list[ArticleInfo]: ...

    async def refetch(self, article_id: str, kb: str, now: datetime | None = None) -> FetchOutcome: ...

    async def store_refetches(self, outcomes: Sequence[FetchOutcome], kb: str) -> list[AddResult | None]: ...


@dataclass(frozen=True)
class RefreshTarget:
    """A server whose URL articles are refreshed, and how often (seconds)."""

    key: int  # the server's id
    kb: str
    interval: float


@dataclass(frozen=True)
class RefreshSummary:
    """What one refresh of a server's due articles did."""

    key: int
    refreshed: int  # fetched without error, changed or not
    changed: int
    failed: tuple[tuple[ArticleInfo, str], ...]  # each with why
    flagged: tuple[ArticleInfo, ...]  # vanished at two fetches in a row (or more), after this run


def stamp(value: str | None) -> float | None:
    """Return the Unix time of a stored ISO 8601 time, or None if absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


class Refresher:
    """The background task that keeps servers' URL articles fresh."""

    def __init__(
        self,
        service: Refetching,
        targets: Callable[[], Awaitable[Sequence[RefreshTarget]]],
        report: Callable[[RefreshSummary], Awaitable[None]],
        clock: Clock | None = None,
        *,
        check_every: float = 600.0,
        pause: float = 10.0,
    ) -> None:
        self._service = service
        self._targets = targets
        self._report = report
        self.clock = clock or SystemClock()
        self.check_every = check_every
        self.pause = pause
        self._running: dict[int, asyncio.Task[RefreshSummary | None]] = {}
        self._tried: dict[tuple[int, str], float] = {}  # failed fetches (in memory) wait an interval too

    async def run(self) -> None:
        """Look for due articles every check_every seconds, until cancelled (which stops the refreshes)."""
        try:
            while True:
                try:
                    await self.check()
                except Exception:  # a failed check (store down) is retried at the next one
                    log.exception("refresh: checking for due articles failed")
                await self.clock.sleep(self.check_every)
        finally:
            await self.close()

    async def check(self) -> list[asyncio.Task[RefreshSummary | None]]:
        """Start refreshing each server that has due articles and no refresh running."""
        started = []
        for target in await self._targets():
            running = self._running.get(target.key)
            if running is not None and not running.done():
                continue
            task = asyncio.create_task(self._guarded(target), name=f"refresh-{target.key}")
            self._running[target.key] = task
            started.append(task)
        return started

    async def close(self) -> None:
        """Cancel the refreshes in progress."""
        tasks = [t for t in self._running.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def due(self, articles: Sequence[ArticleInfo], target: RefreshTarget) -> list[ArticleInfo]:
        """Return the URL articles whose last fetch (or failed try) is an interval old, oldest first."""
        now = self.clock.now()
        found = []
        for a in articles:
            if not a.url or is_message_link(a.url):  # a chat message cannot be fetched again
                continue
            last = max(
                stamp(a.fetched_at) or stamp(a.added_at) or 0.0, self._tried.get((target.key, a.id), 0.0)
            )
            if now - last >= target.interval:
                found.append((last, a.id, a))
        return [a for _, _, a in sorted(found)]

    async def refresh(self, target: RefreshTarget) -> RefreshSummary | None:
        """Fetch a server's due articles one at a time and store what changed; None if none was due."""
        due = self.due(await self._service.list_articles(target.kb), target)
        if not due:
            return None
        log.info("refresh: server %s, %d due articles", target.key, len(due))
        waiting: list[FetchOutcome] = []  # unchanged ones: their freshness is saved in one write
        fetched = changed = 0
        failed = []
        for n, info in enumerate(due):
            if n:
                await self.clock.sleep(self.pause)  # spread over time, never two at once
            outcome = await self._fetch(info, target)
            if outcome is None:
                continue
            if outcome.error is not None:
                failed.append((info, outcome.error))
            else:
                fetched += 1
            if outcome.changed:
                changed += await self._store([outcome], target) == [True]
            elif outcome.fresh is not None:
                waiting.append(outcome)
        await self._store(waiting, target)
        flagged = tuple(o.fresh for o in waiting if o.gone and o.fresh is not None and o.fresh.flagged)
        summary = RefreshSummary(target.key, fetched, changed, tuple(failed), flagged)
        await self._report(summary)
        return summary

    async def _fetch(self, info: ArticleInfo, target: RefreshTarget) -> FetchOutcome | None:
        now, key = self.clock.now(), (target.key, info.id)
        try:
            outcome = await self._service.refetch(info.id, target.kb, datetime.fromtimestamp(now, UTC))
        except CitebotError as exc:  # removed meanwhile, or no longer a URL article
            log.info("refresh: skipped %s in server %s: %s", info.id, target.key, exc)
            return None
        if outcome.error is None:
            self._tried.pop(key, None)
        else:
            self._tried[key] = now
        return outcome

    async def _store(self, outcomes: list[FetchOutcome], target: RefreshTarget) -> list[bool]:
        if not outcomes:
            return []
        try:
            results = await self._service.store_refetches(outcomes, target.kb)
        except CitebotError:
            log.exception("refresh: storing %d articles of server %s failed", len(outcomes), target.key)
            return [False] * len(outcomes)
        return [r is not None and r.status == "updated" for r in results]

    async def _guarded(self, target: RefreshTarget) -> RefreshSummary | None:
        try:
            return await self.refresh(target)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("refresh of server %s failed", target.key)
            return None
