"""The composition root of the Discord side: `citebot serve` and `citebot sync`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl

from bot.client import CitebotBot
from retrieval.errors import CitebotError

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.service import CitebotService

log = logging.getLogger(__name__)


def point_at(settings: Settings) -> None:
    """Aim discord.py at the configured REST and gateway endpoints (Discord's by default)."""
    discord.http.Route.BASE = settings.discord.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord.gateway_url)


def _token(settings: Settings) -> str:
    token = settings.discord.token
    if token is None or not token.get_secret_value().strip():
        raise CitebotError("no Discord bot token: set DISCORD_TOKEN (or CITEBOT_DISCORD__TOKEN)")
    return token.get_secret_value().strip()


def build_bot(
    settings: Settings,
    *,
    serve: bool = True,
    message_content: bool | None = None,
    service_factory: Callable[[], CitebotService] | None = None,
    **options: Any,
) -> CitebotBot:
    """Build the bot; with serve=True its service (model, store) is built in setup_hook."""
    if serve and service_factory is None:
        service_factory = _service_once(settings)
    return CitebotBot(
        settings,
        service_factory=service_factory if serve else None,
        message_content=message_content,
        **options,
    )


def _service_once(settings: Settings) -> Callable[[], CitebotService]:
    """Return a factory that builds the service (loads the model) on its first call only."""
    built: list[CitebotService] = []

    def factory() -> CitebotService:
        if not built:
            from retrieval.compose import build_service

            built.append(build_service(settings))
        return built[0]

    return factory


async def serve(settings: Settings, **options: Any) -> None:
    """Run the bot until it is stopped; fall back to no message content if it is not allowed."""
    token = _token(settings)
    point_at(settings)
    content = settings.discord.message_content
    factory = _service_once(settings)  # a retry without message content keeps the loaded model
    while True:
        bot = build_bot(settings, message_content=content, service_factory=factory, **options)
        try:
            with _talking_to(settings):
                async with bot:
                    await bot.start(token)
            return
        except discord.PrivilegedIntentsRequired:
            if not content:
                raise
            log.warning(
                "the Message Content intent is not enabled for this bot in the developer portal; "
                "continuing without it: only @mentions and slash commands will be answered"
            )
            content = False


async def sync(settings: Settings, guild_id: int | None, clear: bool = False) -> list[str]:
    """Register the slash commands globally or to one server; with clear, remove them instead."""
    token = _token(settings)
    point_at(settings)
    bot = build_bot(settings, serve=False)
    with _talking_to(settings):
        try:
            async with bot:
                await bot.login(token)
                guild = discord.Object(id=guild_id) if guild_id else None
                if clear:
                    bot.tree.clear_commands(guild=guild)
                elif guild is not None:
                    bot.tree.copy_global_to(guild=guild)
                synced = await bot.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            raise CitebotError(f"Discord refused the commands: {_said(exc)}") from exc
    return [c.name for c in synced]


@contextlib.contextmanager
def _talking_to(settings: Settings) -> Iterator[None]:
    """Turn a rejected token or an unreachable Discord into one readable error."""
    try:
        yield
    except discord.LoginFailure as exc:
        raise CitebotError(
            "Discord rejected the bot token (DISCORD_TOKEN); check it in the developer portal"
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        raise _unreachable(settings, exc) from exc
    except discord.HTTPException as exc:  # a Discord outage (5xx), or an API base that is not Discord's
        raise CitebotError(
            f"Discord answered HTTP {exc.status} at {settings.discord.api_base} "
            f"(CITEBOT_DISCORD__API_BASE): {_said(exc)}"
        ) from exc


def _said(exc: discord.HTTPException) -> str:
    """Return what Discord said, in one line: its message, or the HTTP reason when the body is a page."""
    text = " ".join((exc.text or "").split())
    if text and len(text) <= 200 and "<" not in text:
        return text
    return str(getattr(exc.response, "reason", "") or f"HTTP {exc.status}")


def _unreachable(settings: Settings, exc: aiohttp.ClientConnectorError) -> CitebotError:
    return CitebotError(
        f"cannot reach Discord at {settings.discord.api_base} (CITEBOT_DISCORD__API_BASE): {exc.os_error}"
    )


def run_serve(settings: Settings) -> int:
    """Entry point of `citebot serve`."""
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        log.info("stopped")
    return 0


def run_sync(settings: Settings, guild_id: int | None, clear: bool = False) -> int:
    """Entry point of `citebot sync`."""
    names = asyncio.run(sync(settings, guild_id, clear))
    if clear:
        where = f"server {guild_id}" if guild_id else "all servers (global)"
        print(f"removed citebot's commands from {where}")
        if guild_id:
            print("global commands, if synced, still show there: this only removes the server's copies")
        return 0
    where = f"server {guild_id}" if guild_id else "all servers (global; may take a while to appear)"
    print(f"synced {len(names)} commands to {where}: {', '.join(sorted(names))}")
    if guild_id:
        print(
            "these are copies for this server: after a global `citebot sync`, run "
            f"`citebot sync --clear --guild {guild_id}` or every command shows twice there"
        )
    return 0


async def application_id(settings: Settings) -> int:
    """Ask Discord for the bot's application id (needs the token)."""
    token = _token(settings)
    point_at(settings)
    client = discord.Client(intents=discord.Intents(guilds=True))  # login only; none would log a warning
    with _talking_to(settings):
        async with client:
            await client.login(token)
    if client.application_id is None:
        raise CitebotError("Discord did not say the bot's application id; pass --app-id")
    return client.application_id


def run_invite(settings: Settings, app_id: int | None) -> int:
    """Entry point of `citebot invite`: print the link that adds citebot to a server."""
    from bot.permissions import LABELS, USED, invite_permissions, invite_url

    app_id = app_id or asyncio.run(application_id(settings))
    print(invite_url(app_id))
    print(f"\npermissions ({invite_permissions().value}):")
    for name, why in USED.items():
        print(f"  {LABELS[name]}: {why}")
    return 0
