"""Point the real discord.py at a FakeDiscord and run a bot against it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, TypeVar

import discord
import yarl
from discord.asset import Asset
from discord.gateway import DiscordWebSocket
from discord.http import Route

if TYPE_CHECKING:
    from .server import FakeDiscordBase

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.contextmanager
def patch_discord(fake: FakeDiscordBase) -> Iterator[None]:
    """Redirect discord.py's REST base, gateway and CDN to ``fake``; restore them on exit."""
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY, Asset.BASE)
    Route.BASE = fake.api_base
    # discord.py appends ?v=10&encoding=json&compress=... itself (from_client), so no query here.
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    Asset.BASE = fake.url + "/cdn"
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY, Asset.BASE = saved


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscordBase, bot: ClientT, *, token: str | None = None, timeout: float = 5.0
) -> AsyncIterator[ClientT]:
    """Log ``bot`` in (running its setup_hook), connect it, wait for on_ready, and close it on exit.

    Errors the bot hits while starting (LoginFailure, PrivilegedIntentsRequired, ...) propagate.
    """
    with patch_discord(fake):
        try:
            await bot.login(fake.token if token is None else token)
        except BaseException:
            await bot.close()
            raise
        connect = asyncio.create_task(bot.connect(reconnect=True), name="fakediscord-bot-connect")
        ready = asyncio.create_task(bot.wait_until_ready(), name="fakediscord-bot-ready")
        try:
            done, _ = await asyncio.wait(
                {connect, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if connect in done:
                connect.result()
                raise RuntimeError("the bot disconnected before it was ready")
            if not done:
                raise TimeoutError(f"the bot was not ready after {timeout}s")
            yield bot
        finally:
            ready.cancel()
            await bot.close()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(connect, 5.0)
