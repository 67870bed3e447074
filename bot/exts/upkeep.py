"""Background upkeep: the scheduled refresh of URL articles, the purge of old records, /forget-me."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.guilds import guild_id_of, kb_for
from bot.render import CONTENT_MAX, NO_PINGS, clip, count, link, plain
from bot.replies import reply
from retrieval.freshness import Refresher, RefreshSummary, RefreshTarget
from retrieval.retention import DAY, Purger

if TYPE_CHECKING:
    from bot.client import CitebotBot

log = logging.getLogger(__name__)


def summary_line(summary: RefreshSummary) -> str:
    """Return the log channel's one line: "refreshed 12, changed 2, failed 1 (link)"."""
    line = f"Article refresh: refreshed {summary.refreshed}, changed {summary.changed}, failed {len(summary.failed)}"
    if summary.failed:
        line += " (" + ", ".join(link(a.url) or plain(a.title, 80) for a, _ in summary.failed) + ")"
    if summary.flagged:
        gone = ", ".join(link(a.url) or plain(a.title, 80) for a in summary.flagged)
        line += f"; gone twice in a row, flagged in /sources: {gone}"
    return clip(line, CONTENT_MAX)


class Upkeep(commands.Cog):
    """Keeps URL articles fresh and records short-lived, in the background."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self._tasks: list[asyncio.Task[None]] = []
        self.refresher: Refresher | None = None

    async def cog_load(self) -> None:
        """Start the background tasks (only in a bot that serves)."""
        try:
            service = self.bot.service
        except RuntimeError:  # built for `citebot sync`: nothing to keep up
            return
        upkeep = self.bot.settings.upkeep
        self.refresher = Refresher(
            service,
            self._targets,
            self._report,
            self.bot.clock,
            check_every=upkeep.refresh_check_every,
            pause=upkeep.refresh_pause,
        )
        purger = Purger(
            service.purge_records, upkeep.retention_days, self.bot.clock, every=upkeep.purge_every
        )
        self._tasks = [
            self.bot.start_background(self.refresher.run, "citebot-refresh"),
            self.bot.start_background(purger.run, "citebot-purge"),
        ]

    async def cog_unload(self) -> None:
        """Stop the background tasks."""
        await self.bot.stop_background(self._tasks)
        if self.refresher is not None:
            await self.refresher.close()

    async def _targets(self) -> list[RefreshTarget]:
        """Return the servers of this process (shard) that asked for a scheduled refresh."""
        found = []
        for guild in list(self.bot.guilds):
            days = (await self.bot.guild_config(guild.id)).refresh_days
            if days:
                found.append(RefreshTarget(guild.id, kb_for(guild.id), days * DAY))
        return found

    async def _report(self, summary: RefreshSummary) -> None:
        """Post the summary of a refresh in the server's log channel, if it has one."""
        log.info(
            "refresh of server %s: refreshed %d, changed %d, failed %d",
            summary.key,
            summary.refreshed,
            summary.changed,
            len(summary.failed),
        )
        channel_id = (await self.bot.guild_config(summary.key)).log_channel_id
        channel = self.bot.get_channel(channel_id) if channel_id else None
        if not isinstance(channel, discord.TextChannel) or channel.guild.id != summary.key:
            return
        try:
            await channel.send(summary_line(summary), allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("could not post the refresh summary in channel %s: %s", channel_id, exc)

    @app_commands.command(
        name="forget-me", description="Delete what citebot stored about you in this server: questions, votes."
    )
    @app_commands.guild_only()
    async def forget_me(self, interaction: discord.Interaction[CitebotBot]) -> None:
        """Delete the records of the person who runs it, in this server, and say how many."""
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        deleted = await self.bot.service.forget_user(guild_id, interaction.user.id)
        if not deleted:
            text = "citebot had nothing stored about you in this server."
        else:
            text = (
                f"Deleted {count(deleted, 'record')} about you in this server: the questions you asked "
                "with their answers, your 👍/👎, and others' votes on your answers. Messages already "
                "posted stay in the channels (you can delete your own)."
            )
        await reply(interaction, text, ephemeral=True)


async def setup(bot: CitebotBot) -> None:
    """Register the upkeep tasks and /forget-me."""
    await bot.add_cog(Upkeep(bot))
