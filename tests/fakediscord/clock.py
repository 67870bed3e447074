"""Injectable clock and snowflake ids for the fake Discord."""

from __future__ import annotations

import datetime as dt
import time

DISCORD_EPOCH_MS = 1420070400000


class FakeClock:
    """Wall clock that tests can move forward without waiting.

    It reads the wall clock once and then runs on the monotonic clock (the one asyncio's timers
    use), so a step of the system clock cannot make a late response look early or vice versa.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._wall_start = time.time()
        self._mono_start = time.monotonic()

    def time(self) -> float:
        """Return the fake Unix time in seconds."""
        return self._wall_start + (time.monotonic() - self._mono_start) + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def iso(self, at: float | None = None) -> str:
        """Return ``at`` (default: now) as the ISO 8601 string Discord uses."""
        stamp = self.time() if at is None else at
        return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).isoformat()


class Snowflakes:
    """Generate increasing snowflake ids whose timestamp follows the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._last = 0
        self._increment = 0

    def __call__(self) -> int:
        """Return a new unique snowflake."""
        millis = int(self._clock.time() * 1000) - DISCORD_EPOCH_MS
        self._increment = (self._increment + 1) & 0xFFF
        value = (millis << 22) | (1 << 17) | self._increment
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


def snowflake_time(snowflake: int) -> float:
    """Return the Unix time encoded in a snowflake."""
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000
