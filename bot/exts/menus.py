"""Message context menus (right-click a message → Apps): "Answer with citebot" and "Add to citebot"."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import permissions
from bot.answers import answer_question
from bot.guilds import guild_id_of, require_editor
from bot.render import count, plain, thread_name
from bot.replies import reply
from retrieval.errors import InvalidInput

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from retrieval.models import AddResult

log = logging.getLogger(__name__)

ANSWER_MENU = "Answer with citebot"
ADD_MENU = "Add to citebot"
NO_TEXT = "That message has no text I can read."
Place = Literal["thread", "reply", "here"]


def readable_text(message: discord.Message) -> str:
    """Return what a message says: its text (mentions shown as names) and the text of its embeds."""
    parts = [message.clean_content]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""]
        parts += [f"{f.name}: {f.value}" for f in embed.fields]
    return "\n".join(p for p in parts if p and p.strip())


def place_for(channel: object, perms: discord.Permissions) -> Place:
    """Choose where to answer: a thread from the message, a reply in its thread, or the command's own reply."""
    if isinstance(channel, discord.Thread):
        needed = permissions.needed_to_post(in_thread=True, reply=True)
        return "here" if permissions.missing(perms, needed) else "reply"
    if isinstance(channel, discord.TextChannel):
        needed = permissions.needed_to_post(in_thread=False, reply=False, open_thread=True)
        return "here" if permissions.missing(perms, needed) else "thread"
    return "here"  # voice chats, forums' own channel: the command's reply needs no permission


async def context_before(message: discord.Message, limit: int, max_chars: int) -> str | None:
    """Return the text of the people's messages before a message (oldest first, the newest kept)."""
    lines: list[str] = []
    if limit > 0:
        try:
            async for earlier in message.channel.history(limit=limit, before=message):
                text = " ".join(readable_text(earlier).split())
                if text and not earlier.author.bot:
                    lines.append(text)
        except discord.HTTPException:
            log.info("could not read the history of channel %s", message.channel.id)
    if isinstance(message.channel, discord.Thread):
        lines.append(message.channel.name)  # a thread's name is usually its question
    context = " ".join(reversed(lines)).strip()
    return context[-max_chars:].lstrip() or None


def added_text(result: AddResult, author: str) -> str:
    """Return the reply to "Add to citebot"."""
    a = result.article
    title = plain(a.title, 120)
    if result.status == "already present":
        return f"Already present: **{title}** (`{a.id}`)."
    verb = "Updated" if result.status == "updated" else "Added"
    return (
        f"{verb} the message by **{plain(author, 80)}** as **{title}** (`{a.id}`): "
        f"{count(a.chunks, 'passage')}. Answers cite it with a link to the message; "
        "`/remove` takes it out."
    )


class Menus(commands.Cog):
    """The message context menus."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self.menus = [
            app_commands.ContextMenu(name=ANSWER_MENU, callback=self.answer_message),
            app_commands.ContextMenu(name=ADD_MENU, callback=self.add_message),
        ]

    async def cog_load(self) -> None:
        """Put the context menus on the command tree."""
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        """Take the context menus off the command tree."""
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    async def answer_message(
        self, interaction: discord.Interaction[CitebotBot], message: discord.Message
    ) -> None:
        """Answer a message in a thread, reading the messages before it as context."""
        bot = self.bot
        guild_id = guild_id_of(interaction)
        await bot.cooldown("ask", guild_id, interaction.user.id)
        text = readable_text(message)
        if not text:
            raise InvalidInput(NO_TEXT)
        question = bot.service.validate_question(text)
        perms = interaction.app_permissions
        place = place_for(message.channel, perms)
        # Where the answer goes decides who sees the command's own reply: a note to the caller, or the answer.
        await interaction.response.defer(ephemeral=place != "here", thinking=True)
        context = None
        if perms.read_message_history:
            limits = bot.settings
            context = await context_before(
                message, limits.discord.context_messages, limits.limits.max_question_chars
            )
        if context is not None:
            question, context = await bot.service.standalone_question(context, question)
        answer = await answer_question(
            bot, guild_id, message.author, question, context, embeds=perms.embed_links
        )
        if place == "here":
            await interaction.followup.send(**answer.kwargs())
            return
        if place == "reply":
            await message.reply(**answer.kwargs(), mention_author=False)
            thread = message.channel
        else:
            thread = message.thread or await message.create_thread(
                name=thread_name(question), auto_archive_duration=1440
            )
            await thread.send(**answer.kwargs())
        if isinstance(thread, discord.Thread):
            bot.remember_question(thread.id, f"{context} {question}" if context else question)
        await reply(interaction, f"Answered in {getattr(thread, 'mention', 'the thread')}.", ephemeral=True)

    async def add_message(
        self, interaction: discord.Interaction[CitebotBot], message: discord.Message
    ) -> None:
        """Store a message as an article: its text, author and date, cited by its link (editors only)."""
        bot = self.bot
        guild_id = guild_id_of(interaction)
        await require_editor(interaction)
        await bot.cooldown("add", guild_id, interaction.user.id)
        text = readable_text(message)
        if not text:
            raise InvalidInput(NO_TEXT)
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await bot.ensure_guild(guild_id)
        author = message.author.display_name
        result = await bot.service.add_message(
            text,
            author=author,
            date=message.created_at.isoformat(timespec="seconds"),
            link=message.jump_url,
            where=getattr(message.channel, "name", None) or "a channel",
            kb=kb,
            added_by=str(interaction.user.id),
        )
        log.info("server %s: message %s stored as article %s", guild_id, message.id, result.article.id)
        await reply(interaction, added_text(result, author), ephemeral=True)


async def setup(bot: CitebotBot) -> None:
    """Register the message context menus."""
    await bot.add_cog(Menus(bot))
