"""Questions by @mention: answered in a new thread, where follow-ups need no mention."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot import permissions
from bot.answers import answer_question
from bot.errors import DM_EXPLANATION, error_text
from bot.gate import Gate, is_starter
from bot.helpdesk import POST, THREAD, count_answer, place_of
from bot.quiet import reads_as_question
from bot.render import NO_PINGS, message_text, thread_name
from retrieval.errors import RateLimited

if TYPE_CHECKING:
    from bot.client import CitebotBot

log = logging.getLogger(__name__)

_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|what about|how about|so|then|or|it|its|they|their|he|she|this|that|why|when)\b", re.I
)
HELP_TEXT = "Ask me a question about this server's articles, e.g. `@citebot How fast is Kim's train?`"


def is_follow_up(question: str) -> bool:
    """Tell whether a thread message leans on the previous question (short, or starts like 'and …')."""
    return len(question.split()) <= 6 or bool(_FOLLOW_UP_START.match(question.strip()))


def strip_mentions(content: str, bot_id: int, role_id: int | None = None) -> str:
    """Remove the bot's mention (and its managed role's) from a message and tidy the rest."""
    content = re.sub(rf"<@!?{bot_id}>", " ", content)
    if role_id is not None:
        content = content.replace(f"<@&{role_id}>", " ")
    return " ".join(content.split())


def mentions_bot(message: discord.Message, me: discord.abc.User) -> bool:
    """Tell whether a message mentions the bot, directly or through its managed role."""
    if me in message.mentions:
        return True
    role = message.guild.self_role if message.guild else None
    return role is not None and role.id in message.raw_role_mentions


class Mentions(commands.Cog):
    """Answer @mentions, and unprompted questions in answer channels, forum posts and citebot's threads."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self.gate = Gate(bot)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Decide whether a message is a question for citebot, and answer it."""
        bot = self.bot
        if message.author.bot or bot.user is None or message.webhook_id is not None:
            return
        if message.guild is None:
            await message.channel.send(DM_EXPLANATION, allowed_mentions=NO_PINGS)
            return
        if self.gate.debouncer.absorb(message):  # the asker's next words while citebot waits for them
            return
        mentioned = mentions_bot(message, bot.user)
        channel = message.channel
        config = await bot.guild_config(message.guild.id)
        place = place_of(channel, config, bot.user)
        if not (mentioned or place):
            return
        role = message.guild.self_role
        question = strip_mentions(message.content, bot.user.id, role.id if role else None)
        if not question:
            if mentioned:
                await self._notify(message, HELP_TEXT)
            elif not bot.reads_message_content:
                log.debug("message without content: the message content intent is off")
            return
        try:
            gathered = await self.gate.decide(message, question, mentioned, place, config)
            if gathered is not None:
                await self._answer(message, message.guild.id, gathered, place, mentioned)
        except RateLimited as exc:
            await self._notify(message, str(exc), delete_after=bot.notice_seconds)
        except Exception as exc:  # noqa: BLE001 - the error boundary for messages
            text = error_text(exc, "answering a message", guild=message.guild.id, channel=channel.id)
            await self._notify(message, text)

    def _perms(self, message: discord.Message) -> discord.Permissions:
        channel = message.channel
        if message.guild is None or not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            return discord.Permissions.none()
        return channel.permissions_for(message.guild.me)

    async def _notify(self, message: discord.Message, text: str, delete_after: float | None = None) -> None:
        """Tell the person who wrote a message something: as a reply if the bot may post there, else by DM."""
        in_thread = isinstance(message.channel, discord.Thread)
        needed = permissions.needed_to_post(in_thread=in_thread, reply=True)
        try:
            if not permissions.missing(self._perms(message), needed):
                sent = await message.reply(
                    message_text(text), allowed_mentions=NO_PINGS, mention_author=False
                )
                if delete_after is not None:
                    await sent.delete(delay=delete_after)
            elif delete_after is None:  # a lasting problem is worth a DM; a passing cooldown is not
                await message.author.send(message_text(text), allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.warning("could not tell user %s: %s", message.author.id, text)

    async def _answer(
        self, message: discord.Message, guild_id: int, question: str, place: str | None, mentioned: bool
    ) -> None:
        bot = self.bot
        open_thread = mentioned and isinstance(message.channel, discord.TextChannel)
        in_thread = isinstance(message.channel, discord.Thread)
        ours = place in (THREAD, POST)  # answered in the thread itself, with follow-ups
        follow_up = ours and not is_starter(message)
        as_reply = not (open_thread or ours)
        perms = self._perms(message)
        lacking = permissions.missing(
            perms, permissions.needed_to_post(in_thread=in_thread, reply=as_reply, open_thread=open_thread)
        )
        if lacking:  # check first: never leave an empty thread behind
            channel_name = getattr(message.channel, "mention", "this channel")
            await self._notify(message, permissions.missing_text(lacking, channel_name))
            return
        if follow_up:
            await bot.cooldown("follow_up", guild_id, message.author.id)
        else:
            await bot.cooldown("ask", guild_id, message.author.id, via="mention" if mentioned else "channel")
        question = bot.service.validate_question(question)  # refuse before opening a thread
        # Else a statement (with the question rule off): no public "I couldn't find".
        asked = mentioned or reads_as_question(question, follow_up=follow_up)
        context = None
        thread = message.channel
        if follow_up and isinstance(thread, discord.Thread):
            previous = bot.thread_questions.get(thread.id) or thread.name
            if is_follow_up(question):
                question, context = await bot.service.standalone_question(previous, question)
        if not open_thread:
            await self._deliver(
                message,
                message.channel,
                guild_id,
                question,
                context,
                embeds=perms.embed_links,
                asked=asked,
                reply=as_reply,
            )
            return
        opened = await message.create_thread(name=thread_name(question), auto_archive_duration=1440)
        try:
            await self._deliver(
                message,
                opened,
                guild_id,
                question,
                context,
                embeds=perms.embed_links,
                asked=asked,
                reply=False,
            )
        except Exception as exc:  # noqa: BLE001 - the thread is open: say what went wrong there, not leave it empty
            text = error_text(exc, "answering a message", guild=guild_id, channel=opened.id)
            try:
                await opened.send(message_text(text), allowed_mentions=NO_PINGS)
            except discord.HTTPException:
                log.warning("could not post in thread %s: %s", opened.id, text)

    async def _deliver(
        self,
        message: discord.Message,
        channel: discord.abc.Messageable,
        guild_id: int,
        question: str,
        context: str | None,
        *,
        embeds: bool,
        asked: bool,
        reply: bool,
    ) -> None:
        """Answer in channel: a reply to the message where it was asked, else a message of its own."""
        bot = self.bot
        in_thread = isinstance(channel, discord.Thread)
        async with channel.typing():
            answer = await answer_question(
                bot,
                guild_id,
                message.author,
                question,
                context,
                embeds=embeds,
                channel_id=getattr(channel, "id", None),
                in_thread=in_thread,
            )
        if answer.answer.abstained and not asked:
            log.debug("no public abstention for a statement in channel %s", message.channel.id)
            return
        if isinstance(channel, discord.Thread):  # counted (and the asker kept) before anyone can reply
            bot.remember_question(channel.id, f"{context} {question}" if context else question)
            await count_answer(bot, channel, message.author.id)
        if reply:
            await message.reply(**answer.kwargs(), mention_author=False)
        else:
            await channel.send(**answer.kwargs())


async def setup(bot: CitebotBot) -> None:
    """Register the message listener."""
    await bot.add_cog(Mentions(bot))
