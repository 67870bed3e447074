"""/ask: a question by slash command, answered publicly with quoted, numbered sources."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import FeedbackButton, MoreSourcesButton, answer_question
from bot.guilds import guild_id_of
from bot.limits import with_max_length

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
    @app_commands.describe(
        question="Your question in plain words, e.g. How fast is Kim's train?",
        private="True: only you see the answer. False (the default): everyone in the channel sees it.",
    )
    async def ask(
        self, interaction: discord.Interaction[CitebotBot], question: str, private: bool = False
    ) -> None:
        """Answer a question, publicly (echoing it, since slash input is invisible) or privately."""
        bot = self.bot
        guild_id = guild_id_of(interaction)
        await bot.cooldown("ask", guild_id, interaction.user.id)
        await interaction.response.defer(thinking=True, ephemeral=private)
        drafts: list[discord.Embed] = []

        async def show_draft(embed: discord.Embed) -> None:
            drafts.append(embed)
            await interaction.edit_original_response(embed=embed)

        answer = await answer_question(
            bot,
            guild_id,
            interaction.user,
            question,
            show_draft=show_draft,
            embeds=interaction.app_permissions.embed_links,
        )
        if drafts:  # the message already exists: the answer replaces the draft in place
            await interaction.edit_original_response(**answer.kwargs())
        else:
            await interaction.followup.send(**answer.kwargs())


async def setup(bot: CitebotBot) -> None:
    """Register /ask and the answer buttons."""
    bot.add_dynamic_items(FeedbackButton, MoreSourcesButton)
    await bot.add_cog(Ask(bot))
