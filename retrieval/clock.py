"""The clock background tasks read and wait on, injectable so tests move time by hand."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Where the background tasks read the time and wait (injectable for tests)."""

    def now(self) -> float:
        """Return the Unix time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for some seconds."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Return the Unix time in seconds."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Wait for some seconds."""
        await asyncio.sleep(seconds)
