"""Keeping answer, feedback and thread records for a set time, then deleting them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from retrieval.clock import Clock, SystemClock

log = logging.getLogger(__name__)

DAY = 86_400.0


class Purger:
    """The background task that deletes records older than the retention time."""

    def __init__(
        self,
        purge: Callable[[float], Awaitable[int]],
        keep_days: int,
        clock: Clock | None = None,
        *,
        every: float = 6 * 3600.0,
    ) -> None:
        self._purge = purge
        self.keep = keep_days * DAY
        self.clock = clock or SystemClock()
        self.every = every

    async def purge(self) -> int:
        """Delete the records older than the retention time; return how many."""
        deleted = await self._purge(self.clock.now() - self.keep)
        if deleted:
            log.info("retention: deleted %d records older than %g days", deleted, self.keep / DAY)
        return deleted

    async def run(self) -> None:
        """Purge at once, then every `every` seconds, until cancelled."""
        while True:
            try:
                await self.purge()
            except Exception:  # the store was down: try again at the next round
                log.exception("retention: purging old records failed")
            await self.clock.sleep(self.every)
