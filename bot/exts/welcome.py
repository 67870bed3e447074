"""First contact: one welcome when citebot joins a server, the sample article's removal, and /help."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import guarded
from bot.guilds import guild_id_of, kb_for, require_editor
from bot.render import NO_PINGS, message_text, plain
from bot.replies import reply

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from retrieval.models import ArticleInfo

log = logging.getLogger(__name__)

SEED_ADDED_BY = "citebot"  # what CitebotService.seed records as the adder of the sample articles
REMOVE_SAMPLE = "Remove the sample article"


def welcome_text(samples: Sequence[ArticleInfo]) -> str:
    """Return the one welcome message: how to ask, how editors add articles, the sample article."""
    lines = [
        "👋 Hi, I'm **citebot**. I answer questions from this server's articles and quote the passages I used.",
        "• **Ask:** `/ask` (with `private: True`, only you see the answer), or mention me with a question.",
        "• **Add articles** (Manage Server, or the editor role): `/add url:`, `/add file:`, or `/add` alone "
        "to paste text. `/sources` lists them.",
        "• **Settings** (Manage Server): `/citebot settings`. `/help` tells more.",
    ]
    if samples:
        titles = ", ".join(f"*{plain(a.title, 80)}*" for a in samples)
        lines.append(
            f"To show how answers look, I added a sample article: {titles}. "
            f"Editors can remove it with the button below."
        )
    return message_text("\n".join(lines))


def help_text(reads_content: bool) -> str:
    """Return /help: every way to use citebot, in a few lines."""
    channels = (
        "`/citebot settings answer-channel` makes me answer questions in a channel, or each post of a forum."
        if reads_content
        else "Answer channels need the Message Content intent, which this bot runs without."
    )
    return message_text(
        "**Asking**\n"
        "• `/ask question:` answers with the passages it quotes; `private: True` shows it to you alone.\n"
        "• Mention me with a question: I answer in a new thread, where follow-ups need no mention.\n"
        "• Under an answer: 👍/👎 tell the server's editors how it did; *More sources* shows the full "
        "passages, only to you.\n"
        "• Right-click a message → Apps → *Answer with citebot* answers it in a thread; "
        "*Ask a helper* under an answer calls the server's helpers.\n"
        "• In a thread or forum post, *Solved* under an answer (or `/solved`) closes the question.\n"
        "**Articles** (Manage Server, or the editor role)\n"
        "• `/add url:` a web page or PDF · `/add file:` a .txt, .md, .html or .pdf · `/add` alone: paste text.\n"
        "• `/sources` lists them; `/remove` and `/refresh` take an article from the list. "
        "Apps → *Add to citebot* stores a message.\n"
        "**Settings** (Manage Server): `/citebot settings show`, `editor-role`, `answer-channel`, "
        f"`cooldown`, `answer-style`, `helper-role`, `quiet`, `refresh-interval`, `log-channel`. {channels}\n"
        "When I can't find an answer in the articles, I say so instead of guessing.\n"
        "**Privacy**: I keep questions and votes for a limited time; `/forget-me` deletes yours now."
    )


async def sample_articles(bot: CitebotBot, guild_id: int) -> list[ArticleInfo]:
    """Return the sample (seed) articles still in a server's knowledge base."""
    articles = await bot.service.list_articles(kb_for(guild_id))
    return [a for a in articles if a.added_by == SEED_ADDED_BY]


class RemoveSampleButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cb:unseed"):
    """The welcome message's button: editors remove the sample article in one click."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(style=discord.ButtonStyle.secondary, label=REMOVE_SAMPLE, custom_id="cb:unseed")
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RemoveSampleButton:
        """Rebuild the button from its custom id."""
        return cls()

    async def callback(self, interaction: discord.Interaction[CitebotBot]) -> None:  # type: ignore[override]
        """Remove the sample articles (editors only) and take the button off the welcome."""
        await guarded(interaction, self._remove)

    async def _remove(self, interaction: discord.Interaction[CitebotBot]) -> None:
        await require_editor(interaction)
        bot = interaction.client
        guild_id = guild_id_of(interaction)
        samples = await sample_articles(bot, guild_id)
        for article in samples:
            await bot.service.remove(article.id, kb_for(guild_id))
        log.info("server %s removed %d sample articles", guild_id, len(samples))
        content = interaction.message.content if interaction.message else ""
        done = f"\n✅ {interaction.user.display_name} removed the sample article."
        await interaction.response.edit_message(content=message_text(content + done), view=None)


class Welcome(commands.Cog):
    """The welcome message on joining a server, and /help."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Prepare the new server's knowledge base, then greet it once in its system channel."""
        bot = self.bot
        await bot.ensure_guild(guild.id)
        channel = guild.system_channel
        if channel is None or not channel.permissions_for(guild.me).send_messages:
            log.info("joined server %s: no system channel I may post in, so no welcome", guild.id)
            return
        samples = await sample_articles(bot, guild.id)
        view = discord.ui.View(timeout=None)
        if samples:
            view.add_item(RemoveSampleButton())
        try:
            await channel.send(welcome_text(samples), view=view, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.warning("could not post the welcome in server %s", guild.id, exc_info=True)

    @app_commands.command(
        name="help", description="How to ask citebot, add articles and change its settings."
    )
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction[CitebotBot]) -> None:
        """Explain citebot, only to the person who asked."""
        await reply(interaction, help_text(self.bot.reads_message_content), ephemeral=True)


async def setup(bot: CitebotBot) -> None:
    """Register the welcome listener, its button and /help."""
    bot.add_dynamic_items(RemoveSampleButton)
    await bot.add_cog(Welcome(bot))
