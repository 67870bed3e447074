"""The command tree: the single error boundary for slash commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.errors import DM_EXPLANATION, report
from bot.replies import reply

if TYPE_CHECKING:
    from bot.client import CitebotBot


class CitebotTree(app_commands.CommandTree["CitebotBot"]):
    """A command tree whose on_error turns every failure into a reply the user can read."""

    async def interaction_check(self, interaction: discord.Interaction[CitebotBot]) -> bool:
        """Refuse commands outside servers with a polite explanation."""
        if interaction.guild_id is None and interaction.type is not discord.InteractionType.autocomplete:
            await reply(interaction, DM_EXPLANATION, ephemeral=True)
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction[CitebotBot], error: app_commands.AppCommandError
    ) -> None:
        """Reply with the error's own message if the user caused it, else a generic one."""
        name = interaction.command.qualified_name if interaction.command else "?"
        await report(interaction, error, f"command /{name}", interaction=interaction.id)
