"""Questions by @mention: answered in a new thread, where follow-ups need no mention."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.answers import answer_question
from bot.errors import DM_EXPLANATION, report
from bot.render import NO_PINGS, thread_name

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


def strip_mentions(content: str, bot_id: int) -> str:
    """Remove the bot's mention from a message and tidy the rest."""
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())


class Mentions(commands.Cog):
    """Answer @mentions, thread follow-ups and messages in answer channels."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Decide whether a message is a question for citebot, and answer it."""
        bot = self.bot
        if message.author.bot or bot.user is None or message.webhook_id is not None:
            return
        mentioned = bot.user in message.mentions
        if message.guild is None:
            await message.channel.send(DM_EXPLANATION, allowed_mentions=NO_PINGS)
            return
        channel = message.channel
        in_our_thread = isinstance(channel, discord.Thread) and channel.owner_id == bot.user.id
        if not (mentioned or in_our_thread or await self._answer_channel(message, message.guild.id)):
            return
        question = strip_mentions(message.content, bot.user.id)
        if not question:
            if mentioned:
                await message.reply(HELP_TEXT, allowed_mentions=NO_PINGS)
            elif not bot.reads_message_content:
                log.debug("message without content: the message content intent is off")
            return
        try:
            await self._answer(message, message.guild.id, question, in_our_thread, mentioned)
        except Exception as exc:  # noqa: BLE001 - the error boundary for messages
            await report(message, exc, "answering a message", guild=message.guild.id, channel=channel.id)

    async def _answer_channel(self, message: discord.Message, guild_id: int) -> bool:
        config = await self.bot.guild_config(guild_id)
        return message.channel.id in config.answer_channels

    async def _answer(
        self, message: discord.Message, guild_id: int, question: str, in_our_thread: bool, mentioned: bool
    ) -> None:
        bot = self.bot
        if in_our_thread:
            bot.cooldown("follow_up", guild_id, message.author.id)
        else:
            bot.cooldown("ask", guild_id, message.author.id, via="mention" if mentioned else "channel")
        question = bot.service.validate_question(question)  # refuse before opening a thread
        channel: discord.abc.Messageable = message.channel
        context = None
        thread = message.channel
        if in_our_thread and isinstance(thread, discord.Thread):
            previous = bot.thread_questions.get(thread.id) or thread.name
            if is_follow_up(question):
                question, context = await bot.service.standalone_question(previous, question)
        elif mentioned and isinstance(message.channel, discord.TextChannel):
            try:
                channel = await message.create_thread(name=thread_name(question), auto_archive_duration=1440)
            except discord.HTTPException as exc:
                log.info("could not open a thread (%s); answering in the channel", exc)
        async with channel.typing():
            embed, view = await answer_question(bot, guild_id, message.author, question, context)
        if channel is message.channel and not in_our_thread:
            await message.reply(embed=embed, view=view, allowed_mentions=NO_PINGS, mention_author=False)
        else:
            await channel.send(embed=embed, view=view, allowed_mentions=NO_PINGS)
        if isinstance(channel, discord.Thread):
            bot.remember_question(channel.id, f"{context} {question}" if context else question)


async def setup(bot: CitebotBot) -> None:
    """Register the message listener."""
    await bot.add_cog(Mentions(bot))
