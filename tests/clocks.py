"""A clock for the background tasks that tests move by hand (no sleeps)."""

from __future__ import annotations

import asyncio
import time


class ManualClock:
    """Unix time that moves only when told; sleepers wake when it passes their deadline.

    With auto=True a sleep moves the clock forward itself and returns at once.
    """

    def __init__(self, start: float | None = None, *, auto: bool = False) -> None:
        self.t = time.time() if start is None else start
        self.auto = auto
        self.slept: list[float] = []  # every wait asked for, in order
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        """Return the clock's time."""
        return self.t

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has moved seconds forward."""
        self.slept.append(seconds)
        if self.auto or seconds <= 0:
            self.t += max(seconds, 0.0)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, future))
        await future

    @property
    def sleeping(self) -> int:
        """Return how many tasks are waiting on the clock."""
        return sum(not f.done() for _, f in self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move the clock forward and wake the sleepers whose time has come."""
        self.t += seconds
        for deadline, future in list(self._sleepers):
            if deadline <= self.t:
                self._sleepers.remove((deadline, future))
                if not future.done():
                    future.set_result(None)
