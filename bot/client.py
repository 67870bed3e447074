"""The bot: one instance per process, its parts built once in setup_hook."""

from __future__ import annotations

import asyncio
import logging
import pkgutil
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.cooldowns import Cooldowns
from bot.guilds import GuildConfig, GuildConfigs, kb_for
from bot.tree import CitebotTree
from retrieval.clock import Clock, SystemClock

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.aio import AsyncCitebot
    from retrieval.service import CitebotService

log = logging.getLogger(__name__)


def make_intents(message_content: bool) -> discord.Intents:
    """Return the gateway intents citebot needs."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = message_content
    return intents


class CitebotBot(commands.Bot):
    """citebot's Discord client."""

    def __init__(
        self,
        settings: Settings,
        *,
        service_factory: Callable[[], CitebotService] | None = None,
        message_content: bool | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        content = settings.discord.message_content if message_content is None else message_content
        if settings.discord.shard_count is not None:
            options.setdefault("shard_count", settings.discord.shard_count)
            options.setdefault("shard_id", settings.discord.shard_id)
        super().__init__(
            command_prefix=(),  # slash commands and mentions only: no prefix commands at all
            intents=make_intents(content),
            tree_cls=CitebotTree,
            # Installed to servers only, used in servers only: no DM or user-install entry points.
            allowed_contexts=discord.app_commands.AppCommandContext(guild=True),
            allowed_installs=discord.app_commands.AppInstallationType(guild=True),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.settings = settings
        self.reads_message_content = content
        self._service_factory = service_factory
        self._service: AsyncCitebot | None = None
        self._configs: GuildConfigs | None = None
        self.cooldowns = Cooldowns()
        # The last question asked in each of the bot's threads (bounded; the thread name is the fallback).
        self.thread_questions: OrderedDict[int, str] = OrderedDict()
        self._guild_locks: dict[int, asyncio.Lock] = {}
        self.notice_seconds = 8.0  # how long short notices (cooldowns) stay before they are deleted
        self.clock: Clock = clock or SystemClock()  # what the background upkeep reads and waits on
        self._background: list[asyncio.Task[None]] = []

    async def setup_hook(self) -> None:
        """Build the service off the event loop (model load included), then load features."""
        if self._service_factory is not None:
            from retrieval.compose import build_async

            factory = self._service_factory
            self._service = await asyncio.to_thread(lambda: build_async(factory()))
            self._configs = GuildConfigs(self._service)
        import bot.exts

        for module in pkgutil.iter_modules(bot.exts.__path__):
            await self.load_extension(f"bot.exts.{module.name}")
        if self.application_id is not None:
            from bot.permissions import invite_url

            log.info("invite link (add citebot to a server): %s", invite_url(self.application_id))
        if not self.reads_message_content:
            log.warning(
                "running without the message content intent: answering @mentions and slash commands only"
            )

    async def on_message(self, message: discord.Message, /) -> None:
        """Ignore messages here: citebot has no prefix commands (the Mentions cog answers questions)."""

    async def on_ready(self) -> None:
        """Log the connection (may fire again after reconnects; does no set-up)."""
        log.info("connected as %s to %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        """Stop the background jobs, disconnect, then release the service's connections and threads."""
        await self.stop_background(self._background)
        await super().close()
        if self._service is not None:
            await self._service.close()

    # -- helpers for the features -------------------------------------------------------
    def start_background(self, job: Callable[[], Awaitable[None]], name: str) -> asyncio.Task[None]:
        """Run a background job once the bot is ready; close() cancels it."""

        async def when_ready() -> None:
            await self.wait_until_ready()
            await job()

        task = asyncio.create_task(when_ready(), name=name)
        self._background.append(task)
        return task

    async def stop_background(self, tasks: list[asyncio.Task[None]]) -> None:
        """Cancel background jobs and wait for them to end."""
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._background = [t for t in self._background if t not in tasks]

    @property
    def service(self) -> AsyncCitebot:
        """Return the async service (only available when the bot was built to serve)."""
        if self._service is None:
            raise RuntimeError("the bot was started without a service")
        return self._service

    @property
    def configs(self) -> GuildConfigs:
        """Return the per-server settings."""
        if self._configs is None:
            raise RuntimeError("the bot was started without a service")
        return self._configs

    async def guild_config(self, guild_id: int) -> GuildConfig:
        """Return a server's settings."""
        return await self.configs.get(guild_id)

    def remember_question(self, thread_id: int, question: str, keep: int = 10_000) -> None:
        """Remember a thread's latest question for follow-ups."""
        self.thread_questions[thread_id] = question
        self.thread_questions.move_to_end(thread_id)
        while len(self.thread_questions) > keep:
            self.thread_questions.popitem(last=False)

    async def cooldown(self, action: str, guild_id: int, user_id: int, via: str | None = None) -> None:
        """Apply a server's cooldown for an action to a user (raises RateLimited naming `via`)."""
        # Before the first response: no I/O once the server's settings were read (its first use
        # after a restart reads them, so a server's own cooldown holds from the start).
        config = self.configs.cached(guild_id) or await self.guild_config(guild_id)
        period = config.cooldown(action, self.settings.discord)
        self.cooldowns.hit(action, guild_id, user_id, period, via)

    async def ensure_guild(self, guild_id: int) -> str:
        """Return a server's knowledge base, seeding it the first time it is seen."""
        kb = kb_for(guild_id)
        config = await self.guild_config(guild_id)
        if config.seeded or not self.settings.discord.seed_new_guilds:
            return kb
        lock = self._guild_locks.setdefault(guild_id, asyncio.Lock())
        async with lock:
            config = await self.configs.get(guild_id)
            if not config.seeded:
                await self.service.seed(kb)
                await self.configs.mark_seeded(guild_id)
                log.info("seeded the knowledge base of server %s", guild_id)
        return kb
