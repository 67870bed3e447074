"""Whether citebot answers a message: the quiet rules applied to what it knows of the thread.

For messages nobody addressed to citebot by name it also waits a few seconds for the asker's
next messages (they become part of the question) and, in dry-run mode, only logs the answer.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

import discord

from bot import quiet
from bot.helpdesk import POST, THREAD, Debouncer, is_staff, note_staff_reply, thread_record
from bot.quiet import Rules, Situation, reason_to_stay_quiet
from retrieval.errors import InvalidInput

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from bot.guilds import GuildConfig
    from retrieval.records import ThreadRecord

log = logging.getLogger(__name__)

SOLVED_NOTICE = (
    "This question is marked solved, so I don't answer here any more. "
    "Ask a new question in a new post or thread, or with `/ask`."
)
LONGEST_WAIT = 4  # times the debounce delay: someone who keeps typing is answered anyway


def is_starter(message: discord.Message) -> bool:
    """Tell whether a message opens a forum post (its id is the post's id)."""
    return isinstance(message.channel, discord.Thread) and message.id == message.channel.id


def replies_to_person(message: discord.Message, me: discord.abc.Snowflake) -> bool:
    """Tell whether a message replies to someone else's message (not citebot's, not their own)."""
    ref = message.reference.resolved if message.reference else None
    return isinstance(ref, discord.Message) and ref.author.id not in (me.id, message.author.id)


def with_title(title: str, text: str) -> str:
    """Return a forum post's question: its title, then its first message."""
    title = title.strip()
    return f"{title} {text}" if title[-1:] in "?.!:" else f"{title}: {text}"


def fit(text: str, limit: int) -> str:
    """Cut a long gathered question (a post's title and body, several messages) at a word."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


class Gate:
    """Decide, per message, whether citebot answers; wait for the rest of a question."""

    def __init__(self, bot: CitebotBot, keep: int = 10_000) -> None:
        self.bot = bot
        self.debouncer = Debouncer()
        # Posts where staff replied, known at once (the record is written a moment later).
        self._staffed: OrderedDict[int, None] = OrderedDict()
        self._keep = keep

    async def decide(
        self, message: discord.Message, question: str, mentioned: bool, place: str | None, config: GuildConfig
    ) -> str | None:
        """Return the question to answer (gathered from the asker's messages), or None to stay quiet."""
        bot = self.bot
        channel = message.channel
        if is_starter(message) and place == POST and isinstance(channel, discord.Thread):
            question = with_title(channel.name, question)  # a forum post: its title and first message
        self._note_staff(message, place, config)  # before any await: a follow-up right after must see it
        record = await self._record(message, place, mentioned)
        rules = Rules.of(config)
        reason = reason_to_stay_quiet(rules, self._situation(message, question, mentioned, place, record))
        delay = bot.settings.discord.debounce if config.debounce is None else config.debounce
        if reason is None and not mentioned and delay > 0:
            gathered = await self.debouncer.collect(message, delay, delay * LONGEST_WAIT)
            question = " ".join([question, *(m.content.strip() for m in gathered[1:] if m.content.strip())])
            record = await self._record(message, place, mentioned, note=False)  # solved or staffed meanwhile?
            reason = reason_to_stay_quiet(rules, self._situation(message, question, mentioned, place, record))
        if reason is not None:
            await self._stay_quiet(message, reason, mentioned, config)
            return None
        if not mentioned:
            question = fit(question, bot.settings.limits.max_question_chars)
            if config.dry_run:
                await self._dry_run(message, question)
                return None
        return question

    def _note_staff(self, message: discord.Message, place: str | None, config: GuildConfig) -> None:
        channel = message.channel
        if place != POST or not isinstance(channel, discord.Thread) or message.author.id == channel.owner_id:
            return
        if is_staff(message.author, channel, config):
            self._staffed[channel.id] = None
            while len(self._staffed) > self._keep:
                self._staffed.popitem(last=False)

    async def _record(
        self, message: discord.Message, place: str | None, mentioned: bool, *, note: bool = True
    ) -> ThreadRecord | None:
        """Return what citebot knows of the message's thread, noting a helper's or moderator's reply."""
        channel = message.channel
        if not isinstance(channel, discord.Thread) or not (place or mentioned):
            return None
        record = await thread_record(self.bot, channel)
        if note and place in (POST, THREAD):
            record = await note_staff_reply(self.bot, message, record)
        return record

    def _situation(
        self,
        message: discord.Message,
        question: str,
        mentioned: bool,
        place: str | None,
        record: ThreadRecord | None,
    ) -> Situation:
        channel = message.channel
        owner = channel.owner_id if isinstance(channel, discord.Thread) else None
        me = self.bot.user or discord.Object(0)
        return Situation(
            text=question,
            mentioned=mentioned,
            in_thread=place in (POST, THREAD) and not is_starter(message),
            from_asker=place != POST or message.author.id == owner,
            replies_to_person=replies_to_person(message, me),
            answers=record.answers if record else 0,
            solved=bool(record and record.solved_at),
            handed_off=bool(record and record.handed_off_at),
            staff_replied=bool(record and record.staff_replied_at) or channel.id in self._staffed,
        )

    async def _stay_quiet(
        self, message: discord.Message, reason: str, mentioned: bool, config: GuildConfig
    ) -> None:
        level = logging.INFO if config.dry_run else logging.DEBUG  # trying the rules: show each decision
        log.log(level, "not answering message %s in channel %s: %s", message.id, message.channel.id, reason)
        if reason == quiet.SOLVED and mentioned:  # told by the listener, like any refusal
            raise InvalidInput(SOLVED_NOTICE)

    async def _dry_run(self, message: discord.Message, question: str) -> None:
        """Log what citebot would have answered (dry-run mode), posting nothing."""
        if message.guild is None:
            return
        kb = await self.bot.ensure_guild(message.guild.id)
        answer = await self.bot.service.ask(self.bot.service.validate_question(question), kb)
        shown = "not found" if answer.abstained else answer.answer[:200]
        log.info(
            "dry run: would answer message %s in channel %s (%d characters asked): %s",
            message.id,
            message.channel.id,
            len(question),
            shown,
        )
