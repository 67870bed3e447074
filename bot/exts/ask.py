"""/ask: a question by slash command, answered publicly with quoted, numbered sources."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import FeedbackButton, MoreSourcesButton, answer_question
from bot.guilds import guild_id_of
from bot.limits import with_max_length
from bot.render import NO_PINGS

if TYPE_CHECKING:
    from bot.client import CitebotBot


class Ask(commands.Cog):
    """Asking questions by slash command."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        with_max_length(self.ask, question=bot.settings.limits.max_question_chars)

    @app_commands.command(
        name="ask", description="Ask about this server's articles; I answer with quoted, numbered sources."
    )
    @app_commands.guild_only()
    @app_commands.describe(question="Your question, e.g. How fast is Kim's train?")
    async def ask(self, interaction: discord.Interaction[CitebotBot], question: str) -> None:
        """Answer a question publicly, echoing it (slash input is invisible to others)."""
        bot = self.bot
        guild_id = guild_id_of(interaction)
        bot.cooldown("ask", guild_id, interaction.user.id)
        await interaction.response.defer(thinking=True)
        drafts: list[discord.Embed] = []

        async def show_draft(embed: discord.Embed) -> None:
            drafts.append(embed)
            await interaction.edit_original_response(embed=embed)

        embed, view = await answer_question(bot, guild_id, interaction.user, question, show_draft=show_draft)
        if drafts:  # the message already exists: the answer replaces the draft in place
            await interaction.edit_original_response(embed=embed, view=view, allowed_mentions=NO_PINGS)
        else:
            await interaction.followup.send(embed=embed, view=view, allowed_mentions=NO_PINGS)


async def setup(bot: CitebotBot) -> None:
    """Register /ask and the answer buttons."""
    bot.add_dynamic_items(FeedbackButton, MoreSourcesButton)
    await bot.add_cog(Ask(bot))
