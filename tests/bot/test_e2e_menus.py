"""Apps → "Answer with citebot" and "Add to citebot" on a message, end to end on the fake Discord."""

from __future__ import annotations

import asyncio

import pytest

from bot.exts.menus import ADD_MENU, ANSWER_MENU
from config.settings import Settings
from retrieval.records import AnswerRecord
from tests.bot.harness import (
    ANSWER_TIMEOUT,
    KIM_QUESTION,
    World,
    WorldFactory,
    bot_settings,
    embed_of,
    text_of,
)
from tests.fakediscord import InteractionHandle, Member, Message
from tests.fakediscord.models import CREATE_PUBLIC_THREADS

pytestmark = pytest.mark.model

LAMP = (
    "The Skerrivore lamp burns colza oil, and its light can be seen 18 nautical miles out to sea. "
    "Keepers trim the wick every four hours."
)


async def menu(world: World, name: str, target: Message, user: Member | None = None) -> InteractionHandle:
    """Right-click a message → Apps → name, and wait for citebot's reply to the person."""
    handle = await world.fake.invoke_message_command(world.guild, user or world.member, name, target)
    return await handle.wait_done(ANSWER_TIMEOUT)


async def record_of(world: World, answer: Message) -> AnswerRecord:
    """Return the stored record of the answer shown in a message."""
    record = await world.bot.service.answer(answer.button_ids()[-1].rsplit(":", 1)[1])
    assert record is not None
    return record


async def test_both_menus_are_message_commands_for_servers(world: World) -> None:
    menus = {c["name"]: c for c in world.fake.commands.list(None) if c["type"] == 3}

    assert set(menus) == {ANSWER_MENU, ADD_MENU}
    assert all(c["contexts"] == [0] and c["description"] == "" for c in menus.values())
    world.fake.assert_no_violations()


async def test_answer_with_citebot_answers_in_a_thread_from_the_message_with_the_talk_before(
    world: World,
) -> None:
    fake = world.fake
    await fake.send_message(world.channel, world.editor, "We're reading about Kim Jong Un's armored train")
    target = await fake.send_message(
        world.channel, world.member, "how long does the trip from Pyongyang take?"
    )

    done = await menu(world, ANSWER_MENU, target, user=world.editor)
    thread = fake.channels[target.id]  # a thread opened from a message takes the message's id
    [answer] = [m for m in fake.bot_messages(thread) if m.embeds]

    assert thread.parent_id == world.channel.id and thread.name == target.content
    assert "20 hours" in embed_of(answer)["description"]
    assert done.ephemeral and done.original is not None
    assert done.original.content == f"Answered in {thread.mention}."
    record = await record_of(world, answer)
    assert record.context == "We're reading about Kim Jong Un's armored train"
    assert record.user_id == world.member.id, "the answer is for the message's author"
    assert not any(m.pinging for m in fake.bot_messages())
    fake.assert_no_violations()


async def test_the_context_is_limited_to_the_configured_number_of_messages(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    async with make_world(bot_settings(quiet_settings, context_messages=2)) as world:
        for text in ("an old remark about lighthouses", "Kim's armored train is slow", "it is very heavy"):
            await world.fake.send_message(world.channel, world.editor, text)
        target = await world.fake.send_message(world.channel, world.member, "how fast does it go?")

        await menu(world, ANSWER_MENU, target)
        [answer] = [m for m in world.fake.bot_messages(world.fake.channels[target.id]) if m.embeds]

        assert (await record_of(world, answer)).context == "Kim's armored train is slow it is very heavy"
        assert "60 km/h" in embed_of(answer)["description"]
        world.fake.assert_no_violations()


async def test_in_a_thread_it_replies_to_the_message_there(world: World) -> None:
    other = world.fake.add_member(world.guild, "bea")
    # A thread people opened: citebot does not answer in it by itself.
    thread = world.fake.open_thread(world.channel, "Kim Jong Un's armored train", owner=other.user)
    await world.fake.flush()
    target = await world.fake.send_message(thread, other, "and how long is the trip from Pyongyang?")

    waiting = asyncio.ensure_future(
        world.fake.wait_for_message(channel=thread, check=lambda m: bool(m.embeds), timeout=ANSWER_TIMEOUT)
    )
    await asyncio.sleep(0)
    await menu(world, ANSWER_MENU, target, user=world.editor)
    answer = await waiting

    assert answer.reference is not None and answer.reference["message_id"] == str(target.id)
    assert not answer.pinging, "the reply does not ping the message's author"
    assert "20 hours" in embed_of(answer)["description"]
    assert (await record_of(world, answer)).context == thread.name, "the thread's name is context"
    world.fake.assert_no_violations()


async def test_without_thread_permissions_the_answer_is_the_commands_own_reply(world: World) -> None:
    fake = world.fake
    fake.set_overwrite(world.channel, fake.bot_role(world.guild), deny=CREATE_PUBLIC_THREADS)
    target = await fake.send_message(world.channel, world.member, KIM_QUESTION)

    done = await menu(world, ANSWER_MENU, target)

    assert done.original is not None and not done.ephemeral
    assert "60 km/h" in embed_of(done.original)["description"]
    assert not [c for c in fake.channels.values() if c.parent_id == world.channel.id], "no thread"
    fake.assert_no_violations()


async def test_a_message_without_text_is_refused(world: World) -> None:
    target = await world.fake.send_message(world.channel, world.member, "", embeds=[{"image": {"url": "x"}}])

    done = await menu(world, ANSWER_MENU, target)

    assert done.ephemeral and done.original is not None
    assert done.original.content == "That message has no text I can read."
    world.fake.assert_no_violations()


async def test_add_to_citebot_is_for_editors(world: World) -> None:
    target = await world.fake.send_message(world.channel, world.member, LAMP)

    refused = await menu(world, ADD_MENU, target, user=world.member)

    assert refused.ephemeral and refused.original is not None
    assert "Only people with Manage Server" in refused.original.content
    titles = [a.title for a in await world.bot.service.list_articles(f"g{world.guild.id}")]
    assert not any("Skerrivore" in t or "mo in" in t for t in titles)
    world.fake.assert_no_violations()


async def test_an_added_message_is_listed_cited_with_its_link_and_removable(world: World) -> None:
    fake = world.fake
    helper = fake.add_member(world.guild, "hal")
    target = await fake.send_message(world.channel, helper, LAMP)

    added = await menu(world, ADD_MENU, target, user=world.editor)
    assert added.ephemeral and added.original is not None
    assert added.original.content.startswith(
        "Added the message by **hal** as **hal in \\#general: The Skerrivore"
    )
    articles = await world.bot.service.list_articles(f"g{world.guild.id}")
    [article] = [a for a in articles if a.author == "hal"]
    assert article.url == fake.jump_url(target) and article.date is not None

    listing = await world.run("sources", user=world.member)
    assert f"<{fake.jump_url(target)}>" in text_of(listing.original)

    answer = await world.ask("What does the Skerrivore lamp burn?", user=world.member)
    cited = embed_of(answer.original)["fields"][0]["value"]
    link = cited.rsplit("\n", 1)[1]
    assert fake.resolve_jump_link(link) is target, "the citation leads to the message"
    assert "colza" in embed_of(answer.original)["description"]

    refresh = await world.run("refresh", {"article": article.id})
    [refused] = await (await world.press(refresh.original, "Confirm")).wait_followups(1, ANSWER_TIMEOUT)
    assert "is a chat message, so it cannot be fetched again" in refused.content
    confirm = await world.run("remove", {"article": article.id})
    await world.press(confirm.original, "Confirm")
    await fake.wait_until(lambda: confirm.original and confirm.original.content.startswith("Removed"))
    assert article.id not in {a.id for a in await world.bot.service.list_articles(f"g{world.guild.id}")}
    fake.assert_no_violations()


async def test_adding_the_same_message_twice_keeps_one_article(world: World) -> None:
    target = await world.fake.send_message(world.channel, world.member, LAMP)

    await menu(world, ADD_MENU, target, user=world.editor)
    again = await menu(world, ADD_MENU, target, user=world.editor)

    assert again.original is not None and again.original.content.startswith("Already present")
    world.fake.assert_no_violations()


async def test_the_menus_work_without_the_message_content_intent(make_world: WorldFactory) -> None:
    async with make_world(fake_options={"privileged_intents": ()}, message_content=False) as world:
        target = await world.fake.send_message(world.channel, world.member, LAMP)
        added = await menu(world, ADD_MENU, target, user=world.editor)
        question = await world.fake.send_message(world.channel, world.member, KIM_QUESTION)
        answered = await menu(world, ANSWER_MENU, question)

        assert added.original is not None and added.original.content.startswith("Added the message")
        [answer] = [m for m in world.fake.bot_messages(world.fake.channels[question.id]) if m.embeds]
        assert "60 km/h" in embed_of(answer)["description"]
        assert answered.original is not None
        world.fake.assert_no_violations()
