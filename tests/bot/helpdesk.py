"""Helpers for the help-channel tests: answer forums, posts, and waiting for an answer or for silence."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import pytest

from retrieval.records import ThreadRecord
from tests.bot.harness import ANSWER_TIMEOUT, World
from tests.fakediscord import Channel, Member, Message, Role, User
from tests.fakediscord.models import MANAGE_MESSAGES, MANAGE_THREADS

FORUM_TAGS = ("Solved", "Bug", "Question")


async def answer_forum(
    world: World, *, tags: Sequence[str] = FORUM_TAGS, manage_threads: bool = True
) -> Channel:
    """Create a forum and make it an answer channel (citebot may manage threads unless told not to)."""
    if manage_threads:
        role = world.fake.bot_role(world.guild)
        world.fake.set_role_permissions(role, role.permissions | MANAGE_THREADS)
    forum = world.fake.create_forum(world.guild, "help", tags=tags)
    await world.fake.flush()
    saved = await world.run("citebot settings answer-channel", {"channel": forum, "enabled": True})
    assert saved.original is not None and f"<#{forum.id}>" in saved.original.content, saved.original
    return forum


async def answer_channel(world: World) -> Channel:
    """Create a text channel where citebot answers every question."""
    desk = world.fake.create_channel(world.guild, "ask-here")
    await world.fake.flush()
    await world.run("citebot settings answer-channel", {"channel": desk, "enabled": True})
    return desk


async def open_post(
    world: World,
    forum: Channel,
    title: str,
    body: str,
    *,
    author: Member | None = None,
    tags: Sequence[str] = (),
) -> tuple[Channel, Message]:
    """Open a forum post as the member (or `author`) and return it with citebot's answer inside."""
    waiting = asyncio.ensure_future(
        world.fake.wait_for_message(check=lambda m: bool(m.embeds), timeout=ANSWER_TIMEOUT)
    )
    await asyncio.sleep(0)
    post, _ = await world.fake.create_forum_post(forum, author or world.member, title, body, tags=tags)
    answer = await waiting
    assert answer.channel_id == post.id, "answered inside the post"
    return post, answer


async def say(
    world: World,
    channel: Channel,
    text: str,
    *,
    user: Member | None = None,
    mentions: Sequence[User | Member | Role] = (),
    reply_to: Message | None = None,
) -> Message:
    """Post a message and return citebot's next message in that channel."""
    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=channel, timeout=ANSWER_TIMEOUT))
    await asyncio.sleep(0)
    await world.fake.send_message(channel, user or world.member, text, mentions=mentions, reply_to=reply_to)
    return await waiting


async def stays_quiet(
    world: World,
    caplog: pytest.LogCaptureFixture,
    channel: Channel,
    text: str,
    reason: str,
    *,
    user: Member | None = None,
    reply_to: Message | None = None,
) -> Message:
    """Post a message and wait until citebot decided not to answer it, for `reason`; nothing was posted."""
    caplog.set_level(logging.DEBUG, logger="bot.gate")
    before = len(world.fake.bot_messages(channel))
    sent = await world.fake.send_message(channel, user or world.member, text, reply_to=reply_to)
    decided = f"not answering message {sent.id} in channel {channel.id}: {reason}"

    def logged() -> bool:
        return any(r.getMessage() == decided for r in caplog.records)

    await world.fake.wait_until(logged, ANSWER_TIMEOUT, f"citebot to decide on {text!r}")
    assert len(world.fake.bot_messages(channel)) == before, world.fake.bot_messages(channel)[before:]
    return sent


def moderator(world: World, name: str = "mod") -> Member:
    """Add a member with Manage Messages."""
    return world.fake.add_member(world.guild, name, permissions=MANAGE_MESSAGES)


def helper(world: World, name: str = "helper") -> tuple[Role, Member]:
    """Add a helper role and a member who has it."""
    role = world.fake.create_role(world.guild, "Helpers")
    return role, world.fake.add_member(world.guild, name, roles=[role])


async def record_when(world: World, thread: Channel, check: Callable[[ThreadRecord], bool]) -> ThreadRecord:
    """Return citebot's record of a thread once `check` holds (it is written just after posting)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ANSWER_TIMEOUT
    while True:
        record = await world.bot.service.thread(thread.id)
        if record is not None and check(record):
            return record
        if loop.time() > deadline:
            raise AssertionError(f"thread record {record!r} never matched")
        await asyncio.sleep(0.05)
