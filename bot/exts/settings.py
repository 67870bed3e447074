"""/citebot settings: editor role, answer channels and cooldowns (server managers only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.guilds import GuildConfig, guild_id_of, is_manager
from bot.replies import reply
from config.settings import MAX_COOLDOWN
from retrieval.errors import PermissionDenied

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from config.settings import DiscordSettings

NOT_MANAGER = "Only people with Manage Server can change citebot's settings."


def summary(config: GuildConfig, defaults: DiscordSettings) -> str:
    """Describe a server's settings in a few lines."""
    role = f"<@&{config.editor_role_id}>" if config.editor_role_id else "none (Manage Server only)"
    channels = ", ".join(f"<#{c}>" for c in config.answer_channels) or "none"
    ask, add = config.cooldown("ask", defaults), config.cooldown("add", defaults)
    return (
        f"**Editor role:** {role}\n**Channels where I answer every message:** {channels}\n"
        f"**Cooldowns:** /ask {ask:g} s, /add {add:g} s per person\n"
        f"**Answers:** {'only sure ones' if config.only_sure else 'all, unsure ones marked'}"
    )


class Settings(commands.GroupCog, group_name="citebot", group_description="citebot's server settings"):
    """Server settings, changed from Discord."""

    settings = app_commands.Group(
        name="settings", description="Show or change citebot's settings for this server"
    )

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        super().__init__()

    async def _update(self, interaction: discord.Interaction[CitebotBot], **changes: object) -> None:
        guild_id = guild_id_of(interaction)
        if not is_manager(interaction.user):
            raise PermissionDenied(NOT_MANAGER)
        config = await self.bot.configs.update(guild_id, **changes)
        await reply(interaction, "Saved.\n" + summary(config, self.bot.settings.discord), ephemeral=True)

    @settings.command(name="show", description="Show this server's citebot settings")
    @app_commands.guild_only()
    async def show(self, interaction: discord.Interaction[CitebotBot]) -> None:
        """Show the settings (anyone)."""
        config = await self.bot.guild_config(guild_id_of(interaction))
        await reply(interaction, summary(config, self.bot.settings.discord), ephemeral=True)

    @settings.command(
        name="editor-role", description="Set the role that may add and remove articles (empty: none)"
    )
    @app_commands.guild_only()
    @app_commands.describe(role="Members with this role can manage articles; leave empty to clear")
    async def editor_role(
        self, interaction: discord.Interaction[CitebotBot], role: discord.Role | None = None
    ) -> None:
        """Set or clear the editor role."""
        await self._update(interaction, editor_role_id=role.id if role else None)

    @settings.command(
        name="answer-channel", description="Answer every message in a channel without a mention, or stop"
    )
    @app_commands.guild_only()
    @app_commands.describe(channel="The channel", enabled="True to answer every message there, False to stop")
    async def answer_channel(
        self, interaction: discord.Interaction[CitebotBot], channel: discord.TextChannel, enabled: bool
    ) -> None:
        """Add or remove an answer channel."""
        current = set((await self.bot.guild_config(guild_id_of(interaction))).answer_channels)
        current = current | {channel.id} if enabled else current - {channel.id}
        await self._update(interaction, answer_channels=tuple(sorted(current)))

    @settings.command(
        name="cooldown", description="Set the seconds each person waits between uses of /ask or /add"
    )
    @app_commands.guild_only()
    @app_commands.describe(
        command="Which command", seconds=f"Seconds between uses per person (0 to {MAX_COOLDOWN:g})"
    )
    async def cooldown(
        self,
        interaction: discord.Interaction[CitebotBot],
        command: Literal["ask", "add"],
        seconds: app_commands.Range[float, 0.0, MAX_COOLDOWN],
    ) -> None:
        """Set a per-user cooldown."""
        await self._update(interaction, **{f"{command}_cooldown": float(seconds)})

    @settings.command(name="answers", description="Show every answer, or only those citebot is sure of")
    @app_commands.guild_only()
    @app_commands.describe(
        show="all: unsure answers are shown, marked 'not sure'; sure: they say 'not found'"
    )
    async def answers(
        self, interaction: discord.Interaction[CitebotBot], show: Literal["all", "sure"]
    ) -> None:
        """Choose whether answers marked "not sure" are shown."""
        await self._update(interaction, only_sure=show == "sure")


async def setup(bot: CitebotBot) -> None:
    """Register the settings commands."""
    await bot.add_cog(Settings(bot))
