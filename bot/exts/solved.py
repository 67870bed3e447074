"""/solved: mark the question of a thread or forum post solved (the Solved button does the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.solved import SolvedButton, mark_solved

if TYPE_CHECKING:
    from bot.client import CitebotBot


class Solved(commands.Cog):
    """Closing questions."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="solved", description="Mark this thread's question solved and close it (asker, editors, helpers)"
    )
    async def solved(self, interaction: discord.Interaction[CitebotBot]) -> None:
        """Mark the thread or forum post this is used in solved."""
        await mark_solved(interaction, None)


async def setup(bot: CitebotBot) -> None:
    """Register /solved and the Solved button."""
    bot.add_dynamic_items(SolvedButton)
    await bot.add_cog(Solved(bot))
