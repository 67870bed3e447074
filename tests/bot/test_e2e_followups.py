"""Follow-ups in citebot's own @mention thread: answered from the question before, with their own cooldown."""

from __future__ import annotations

import asyncio
import re

import pytest

from config.settings import Settings
from tests.bot.harness import ANSWER_TIMEOUT, KIM_QUESTION, World, WorldFactory, bot_settings, embed_of
from tests.fakediscord import Channel, Message

pytestmark = pytest.mark.model


def thread_of(world: World) -> Channel:
    """Return the one thread opened under the server's channel."""
    threads = [c for c in world.fake.channels.values() if c.parent_id == world.channel.id]
    assert len(threads) == 1, threads
    return threads[0]


async def say_in(world: World, thread: Channel, text: str) -> Message:
    """Post a message in a thread as the member and return the bot's reply there."""
    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=thread, timeout=ANSWER_TIMEOUT))
    await asyncio.sleep(0)
    await world.fake.send_message(thread, world.member, text)
    return await waiting


async def test_follow_ups_right_after_the_answer_get_the_duration_and_the_distance(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    # A realistic /ask cooldown: follow-ups in the thread must not wait for it.
    async with make_world(bot_settings(quiet_settings, ask_cooldown=5.0, follow_up_cooldown=0.0)) as world:
        first = await world.mention(KIM_QUESTION)
        assert "60 km/h" in embed_of(first)["description"]
        thread = thread_of(world)

        duration = await say_in(world, thread, "and how long does the trip take?")
        assert "20 hours" in embed_of(duration)["description"]
        distance = await say_in(world, thread, "what about the distance?")
        assert "1,200 km" in embed_of(distance)["description"]
        world.fake.assert_no_violations()


async def test_a_follow_up_too_soon_is_told_to_ask_again_in_the_thread(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    async with make_world(bot_settings(quiet_settings, ask_cooldown=60.0, follow_up_cooldown=30.0)) as world:
        await world.mention(KIM_QUESTION)
        thread = thread_of(world)
        answered = await say_in(world, thread, "and how long does the trip take?")
        assert answered.embeds, "the first follow-up has its own allowance, apart from the @mention's"

        refused = await say_in(world, thread, "what about the distance?")
        assert not refused.embeds
        assert re.fullmatch(
            r"You're going a bit fast: ask your follow-up in this thread again in (29|30) s\.",
            refused.content,
        )
        world.fake.assert_no_violations()


async def test_a_second_mention_too_soon_is_told_to_mention_again(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    async with make_world(bot_settings(quiet_settings, ask_cooldown=60.0)) as world:
        await world.mention(KIM_QUESTION)
        waiting = asyncio.ensure_future(
            world.fake.wait_for_message(channel=world.channel, timeout=ANSWER_TIMEOUT)
        )
        await asyncio.sleep(0)
        await world.fake.send_message(
            world.channel, world.member, "Who did Kim meet in Hanoi?", mentions=[world.fake.bot_user]
        )
        refused = await waiting
        assert re.fullmatch(r"You're going a bit fast: @mention me again in (59|60) s\.", refused.content)
        world.fake.assert_no_violations()


async def test_the_follow_up_allowance_is_never_longer_than_the_servers_ask_cooldown(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    async with make_world(bot_settings(quiet_settings, ask_cooldown=0.0, follow_up_cooldown=30.0)) as world:
        await world.mention(KIM_QUESTION)
        thread = thread_of(world)
        for text in ("and how long does the trip take?", "what about the distance?"):
            reply = await say_in(world, thread, text)
            assert reply.embeds, text
        world.fake.assert_no_violations()
