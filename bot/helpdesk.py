"""A help channel's state: where citebot answers unprompted, who is staff, threads, waiting for the rest.

Shared by the message listener and the Solved button (extensions never import each other).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import discord

from bot.permissions import is_helper
from retrieval.records import ThreadRecord, now

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from bot.guilds import GuildConfig

log = logging.getLogger(__name__)

# Where citebot answers without a mention.
CHANNEL = "answer channel"
POST = "forum post"
THREAD = "citebot's thread"


def place_of(channel: object, config: GuildConfig, me: discord.abc.Snowflake) -> str | None:
    """Return where a message was posted, if citebot answers there unprompted (else None)."""
    if isinstance(channel, discord.Thread):
        if channel.owner_id == me.id:
            return THREAD
        if channel.parent_id in config.answer_channels and isinstance(channel.parent, discord.ForumChannel):
            return POST
        return None
    if isinstance(channel, discord.TextChannel) and channel.id in config.answer_channels:
        return CHANNEL
    return None


def is_staff(member: discord.Member | discord.User, channel: object, config: GuildConfig) -> bool:
    """Tell whether someone is a helper (the helper role) or a moderator (Manage Messages there)."""
    if not isinstance(member, discord.Member):
        return False
    if is_helper(member, config):
        return True
    if isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return channel.permissions_for(member).manage_messages
    return False


def asker_of(thread: discord.Thread, me: discord.abc.Snowflake) -> int | None:
    """Return who asked in a thread by its owner (None for citebot's own threads: the record knows)."""
    return None if thread.owner_id == me.id else thread.owner_id


async def thread_record(bot: CitebotBot, thread: discord.Thread) -> ThreadRecord:
    """Return what citebot knows of a thread (a fresh record if nothing yet)."""
    found = await bot.service.thread(thread.id)
    if found is not None:
        return found
    me = bot.user
    return ThreadRecord(thread.guild.id, thread.id, asker_id=asker_of(thread, me) if me else None)


async def note_staff_reply(bot: CitebotBot, message: discord.Message, record: ThreadRecord) -> ThreadRecord:
    """Record the first reply of a helper or moderator (other than the asker) in a thread."""
    if record.staff_replied_at is not None or message.author.id == record.asker_id:
        return record
    config = await bot.guild_config(record.guild_id)
    if not is_staff(message.author, message.channel, config):
        return record
    record = replace(record, staff_replied_at=now())
    await bot.service.save_thread(record)
    log.info("a helper or moderator replied in thread %s: citebot stays quiet there", record.thread_id)
    return record


async def count_answer(bot: CitebotBot, thread: discord.Thread, asker_id: int) -> None:
    """Count an answer citebot posted in a thread (and who asked, if not known yet)."""
    record = await thread_record(bot, thread)
    record = replace(record, answers=record.answers + 1, asker_id=record.asker_id or asker_id)
    await bot.service.save_thread(record)


@dataclass
class _Pending:
    messages: list[discord.Message]
    more: asyncio.Event = field(default_factory=asyncio.Event)


class Debouncer:
    """Wait a few seconds after a question for the same person's next messages in the same place."""

    def __init__(self) -> None:
        self._pending: dict[tuple[int, int], _Pending] = {}

    def absorb(self, message: discord.Message) -> bool:
        """Add a message to a question still being waited on; tell whether it was absorbed."""
        pending = self._pending.get((message.channel.id, message.author.id))
        if pending is None:
            return False
        pending.messages.append(message)
        pending.more.set()
        return True

    async def collect(self, message: discord.Message, delay: float, longest: float) -> list[discord.Message]:
        """Wait until `delay` seconds pass without a new message from the person (`longest` at most)."""
        key = (message.channel.id, message.author.id)
        if delay <= 0 or key in self._pending:
            return [message]
        pending = self._pending[key] = _Pending([message])
        loop = asyncio.get_running_loop()
        until = loop.time() + max(longest, delay)
        try:
            while (left := until - loop.time()) > 0:
                pending.more.clear()
                try:
                    await asyncio.wait_for(pending.more.wait(), min(delay, left))
                except TimeoutError:
                    break
        finally:
            del self._pending[key]
        return pending.messages
