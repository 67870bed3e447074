"""Fixtures for the end-to-end bot tests: the real bot on a fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import pytest_asyncio

from config.settings import Settings
from retrieval.embedding import Embedder, MemoEmbedder
from tests.bot.harness import World, WorldFactory, bot_settings, running_world


@pytest.fixture
def quiet_settings(settings: Settings) -> Settings:
    """Settings on the test's isolated data dir, without cooldowns."""
    return bot_settings(settings)


@pytest.fixture(scope="session")
def model(real_embedder: Embedder) -> MemoEmbedder:
    """The session's real model, encoding each distinct text once (seeding every server is cheap)."""
    return MemoEmbedder(real_embedder)


@pytest.fixture
def make_world(quiet_settings: Settings, model: MemoEmbedder) -> WorldFactory:
    """Return a factory of worlds: pass settings=..., fake_options=... or bot options to vary one."""

    def factory(settings: Settings | None = None, **options: Any) -> AbstractAsyncContextManager[World]:
        return running_world(settings or quiet_settings, model, **options)

    return factory


@pytest_asyncio.fixture
async def world(make_world: WorldFactory) -> AsyncIterator[World]:
    """A connected bot in a server with an editor (Manage Server) and a plain member."""
    async with make_world() as w:
        yield w
