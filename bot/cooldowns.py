"""Per-user cooldowns: one use per period, with a friendly wait time."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from retrieval.errors import RateLimited

# How the person asked, as the cooldown message names it: the advice must fit where they are.
RETRY_HINTS = {
    "ask": "try /ask again",
    "add": "try /add again",
    "mention": "@mention me again",
    "follow_up": "ask your follow-up in this thread again",
    "channel": "ask again here",
}


class Cooldowns:
    """Remember when each (action, server, user) last went through."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000) -> None:
        self._clock = clock
        self._last: dict[tuple[str, int, int], float] = {}
        self._max = max_entries

    def hit(self, action: str, guild_id: int, user_id: int, period: float, via: str | None = None) -> None:
        """Record a use, or raise RateLimited naming the way they asked (via, default action)."""
        if period <= 0:
            return
        now = self._clock()
        key = (action, guild_id, user_id)
        last = self._last.get(key)
        if last is not None and now - last < period:
            wait = math.ceil(period - (now - last))
            hint = RETRY_HINTS.get(via or action, f"try /{action} again")
            raise RateLimited(f"You're going a bit fast: {hint} in {wait} s.", retry_after=wait)
        if len(self._last) >= self._max:
            self._prune(now, period)
        self._last[key] = now

    def _prune(self, now: float, period: float) -> None:
        horizon = max(period, 3600.0)
        self._last = {k: t for k, t in self._last.items() if now - t < horizon}
