"""@mentions, thread follow-ups and DMs end to end."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import DM_EXPLANATION
from retrieval.records import AnswerRecord
from tests.bot.harness import ANSWER_TIMEOUT, KIM_QUESTION, World, WorldFactory, embed_of
from tests.fakediscord import Channel, Message

pytestmark = pytest.mark.model


def thread_of(world: World, parent: Channel) -> Channel:
    """Return the one thread opened under a channel."""
    threads = [c for c in world.fake.channels.values() if c.parent_id == parent.id]
    assert len(threads) == 1, threads
    return threads[0]


async def answer_record(world: World, message: Message) -> AnswerRecord:
    """Return the stored record of the answer shown in a message."""
    answer_id = message.button_ids()[-1].rsplit(":", 1)[1]
    record = await world.bot.service.answer(answer_id)
    assert record is not None
    return record


async def test_mention_opens_a_thread_named_after_the_question_and_answers_there(world: World) -> None:
    answer = await world.mention(KIM_QUESTION)

    thread = thread_of(world, world.channel)
    assert thread.name == KIM_QUESTION
    assert answer.channel_id == thread.id
    assert embed_of(answer)["title"] == KIM_QUESTION
    assert not answer.pinging
    assert world.fake.requests_to("typing"), "the bot shows it is typing while it searches"
    world.fake.assert_no_violations()


async def test_follow_up_in_the_thread_needs_no_mention_and_uses_the_question_before(world: World) -> None:
    await world.mention(KIM_QUESTION)
    thread = thread_of(world, world.channel)

    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=thread, timeout=ANSWER_TIMEOUT))
    await asyncio.sleep(0)
    await world.fake.send_message(thread, world.member, "and how long is the trip from Pyongyang?")
    follow_up = await waiting

    embed = embed_of(follow_up)
    assert embed["title"] == "and how long is the trip from Pyongyang?"
    assert "20 hours" in embed["description"]
    record = await answer_record(world, follow_up)
    assert record.context == KIM_QUESTION
    world.fake.assert_no_violations()


async def test_message_in_another_channel_without_a_mention_is_ignored(world: World) -> None:
    other = world.fake.create_channel(world.guild, "random")
    await world.fake.flush()

    await world.fake.send_message(other, world.member, KIM_QUESTION)
    answer = await world.mention("How far is Pyongyang from the border?", channel=other)

    assert [m.id for m in world.fake.bot_messages() if m.embeds] == [answer.id]
    assert not world.fake.bot_messages(other), "nothing is posted in the channel itself"
    world.fake.assert_no_violations()


async def test_bare_mention_gets_a_short_help_text(world: World) -> None:
    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=world.channel))
    await asyncio.sleep(0)
    await world.fake.send_message(world.channel, world.member, "", mentions=[world.fake.bot_user])
    reply = await waiting

    assert "Ask me a question" in reply.content and not reply.pinging
    world.fake.assert_no_violations()


async def test_dm_gets_the_polite_explanation(world: World) -> None:
    dm = world.fake.create_dm(world.member.user)
    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=dm))
    await asyncio.sleep(0)

    await world.fake.send_message(dm, world.member.user, KIM_QUESTION)

    reply = await waiting
    assert reply.content == DM_EXPLANATION and not reply.pinging
    world.fake.assert_no_violations()


async def test_commands_exist_in_servers_only(world: World) -> None:
    registered = world.fake.commands.list(None)
    dm = world.fake.create_dm(world.member.user)

    assert registered and all(c["contexts"] == [0] for c in registered), "server channels only"
    assert all(c["integration_types"] == [0] for c in registered), "installed to servers, not users"
    with pytest.raises(PermissionError, match="not available in a DM"):
        await world.fake.invoke_command(None, dm, world.member.user, "ask", {"question": KIM_QUESTION})


async def test_a_stale_registration_used_in_a_dm_gets_the_polite_explanation(world: World) -> None:
    stale = next(c for c in world.fake.commands.list(None) if c["name"] == "ask")
    stale["contexts"] = None  # registered by an older citebot, before it declared its contexts
    dm = world.fake.create_dm(world.member.user)

    handle = await world.fake.invoke_command(None, dm, world.member.user, "ask", {"question": KIM_QUESTION})
    await handle.wait_done(ANSWER_TIMEOUT)

    assert handle.ephemeral and handle.original is not None
    assert handle.original.content == DM_EXPLANATION
    world.fake.assert_no_violations()


async def test_without_message_content_mentions_are_still_answered(make_world: WorldFactory) -> None:
    async with make_world(fake_options={"privileged_intents": ()}, message_content=False) as world:
        answer = await world.mention(KIM_QUESTION)

        assert answer.channel_id == thread_of(world, world.channel).id
        world.fake.assert_no_violations()


async def test_a_failure_after_the_thread_opened_is_said_in_the_thread(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the store fell over")

    monkeypatch.setattr(world.bot.service, "save_answer", broken)
    waiting = asyncio.ensure_future(world.fake.wait_for_message(timeout=ANSWER_TIMEOUT))
    await asyncio.sleep(0)
    await world.fake.send_message(world.channel, world.member, KIM_QUESTION, mentions=[world.fake.bot_user])
    said = await waiting

    thread = thread_of(world, world.channel)
    assert said.channel_id == thread.id, "never an empty thread: the error goes where the answer would"
    assert "went wrong" in said.content
    assert not world.fake.bot_messages(world.channel)
    world.fake.assert_no_violations()
