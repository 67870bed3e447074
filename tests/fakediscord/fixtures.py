"""Pytest fixtures; enable with ``pytest_plugins = ["tests.fakediscord.fixtures"]`` in the root conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from . import FakeDiscord


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """Yield a started FakeDiscord with one guild ("Test Guild", channel "general"); stop it after."""
    async with FakeDiscord() as fake:
        fake.create_guild("Test Guild")
        yield fake
