"""The first hour on a server: the welcome, the sample article, /help, and the bot's own permissions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.exts.welcome import REMOVE_SAMPLE
from bot.guilds import NOT_EDITOR
from tests.bot.harness import ANSWER_TIMEOUT, KIM_QUESTION, World, WorldFactory, embed_of
from tests.fakediscord import Message
from tests.fakediscord.models import EMBED_LINKS, SEND_MESSAGES, SEND_MESSAGES_IN_THREADS

pytestmark = pytest.mark.model

SEED_TITLE = json.loads((Path(__file__).parents[2] / "seeds" / "manifest.json").read_text())["articles"][0][
    "title"
]


async def join_new_server(world: World, **options: object) -> tuple[Message, object]:
    """Add the bot to a new server and return its welcome message and the server."""
    guild = world.fake.create_guild("New Server", joined=False, **options)  # type: ignore[arg-type]
    owner = guild.members[guild.owner_id]
    waiting = world.fake.wait_for_message(timeout=ANSWER_TIMEOUT)
    await world.fake.join_guild(guild)
    return await waiting, (guild, owner)


async def test_joining_a_server_posts_one_welcome_that_announces_the_sample_article(world: World) -> None:
    welcome, (guild, _) = await join_new_server(world)

    assert welcome.channel_id == guild.system_channel_id  # type: ignore[attr-defined]
    text = welcome.content
    assert "/ask" in text and "mention me" in text, "how to ask"
    assert "/add" in text and "editor role" in text, "how editors add articles"
    assert SEED_TITLE in text and "sample article" in text
    assert [c.get("label") for row in welcome.components for c in row["components"]] == [REMOVE_SAMPLE]
    assert not welcome.pinging
    assert len(world.fake.bot_messages()) == 1
    world.fake.assert_no_violations()


async def test_no_welcome_where_the_bot_may_not_post(world: World) -> None:
    guild = world.fake.create_guild("Quiet Server", joined=False)
    system = guild.channels[guild.system_channel_id]  # type: ignore[index]
    world.fake.set_overwrite(system, world.fake.bot_role(guild), deny=SEND_MESSAGES)

    await world.fake.join_guild(guild)
    await world.fake.wait_until(lambda: guild.id in {g.id for g in world.bot.guilds})
    await world.fake.wait_until(lambda: world.bot.configs.peek(guild.id).seeded, ANSWER_TIMEOUT)
    answer = await world.ask(KIM_QUESTION)  # a later event: the join has been handled by now

    assert answer.original is not None
    assert world.fake.bot_messages(system) == []
    world.fake.assert_no_violations()


async def test_an_editor_removes_the_sample_article_in_one_click(world: World) -> None:
    welcome, (guild, owner) = await join_new_server(world)
    member = world.fake.add_member(guild, "newcomer")
    await world.fake.flush()

    refused = await world.press(welcome, REMOVE_SAMPLE, user=member)
    assert refused.ephemeral and refused.original is not None and refused.original.content == NOT_EDITOR
    assert [a.title for a in await world.bot.service.list_articles(f"g{guild.id}")] == [SEED_TITLE]

    removed = await world.press(welcome, REMOVE_SAMPLE, user=owner)

    assert removed.response_type == 7, "the welcome itself is updated"
    assert await world.bot.service.list_articles(f"g{guild.id}") == []
    assert welcome.components == [] and "removed the sample article" in welcome.content
    world.fake.assert_no_violations()


async def test_help_is_private_and_names_every_way_to_use_the_bot(world: World) -> None:
    handle = await world.run("help", user=world.member)

    assert handle.ephemeral and handle.original is not None
    text = handle.original.content
    for part in ("/ask", "private: True", "Mention me", "/add url:", "/sources", "/citebot settings"):
        assert part in text
    world.fake.assert_no_violations()


async def test_a_mention_where_the_bot_cannot_post_in_threads_says_what_is_missing(world: World) -> None:
    world.fake.set_overwrite(world.channel, world.fake.bot_role(world.guild), deny=SEND_MESSAGES_IN_THREADS)
    waiting = world.fake.wait_for_message(timeout=ANSWER_TIMEOUT)
    await world.fake.send_message(world.channel, world.member, KIM_QUESTION, mentions=[world.fake.bot_user])

    notice = await waiting

    assert notice.channel_id == world.channel.id and notice.reference is not None
    assert "**Send Messages in Threads**" in notice.content and "/ask" in notice.content
    assert [c for c in world.fake.channels.values() if c.parent_id == world.channel.id] == [], (
        "no empty thread"
    )
    world.fake.assert_no_violations()  # nothing was attempted that Discord would refuse


async def test_a_mention_where_the_bot_cannot_post_at_all_is_answered_by_dm(world: World) -> None:
    role = world.fake.bot_role(world.guild)
    world.fake.set_overwrite(world.channel, role, deny=SEND_MESSAGES | SEND_MESSAGES_IN_THREADS)
    waiting = world.fake.wait_for_message(timeout=ANSWER_TIMEOUT)
    await world.fake.send_message(world.channel, world.member, KIM_QUESTION, mentions=[world.fake.bot_user])

    notice = await waiting

    dm = world.fake.channels[notice.channel_id]
    assert dm.guild_id is None and dm.recipient is world.member.user
    assert "**Send Messages in Threads**" in notice.content and "/ask" in notice.content
    world.fake.assert_no_violations()


async def test_without_embed_links_the_answer_comes_as_plain_text(world: World) -> None:
    world.fake.set_overwrite(world.channel, world.fake.bot_role(world.guild), deny=EMBED_LINKS)
    waiting = world.fake.wait_for_message(check=lambda m: "60 km/h" in m.content, timeout=ANSWER_TIMEOUT)
    await world.fake.send_message(world.channel, world.member, KIM_QUESTION, mentions=[world.fake.bot_user])

    answer = await waiting

    assert answer.embeds == [] and world.fake.channels[answer.channel_id].parent_id == world.channel.id
    bold = answer.content.split("**")[3]  # the question is bold first, then the answer sentence
    assert "60 km/h" in bold
    assert answer.button_ids(), "the buttons need no Embed Links"
    slash = await world.ask(KIM_QUESTION)
    assert slash.original is not None and slash.original.embeds == [] and "60 km/h" in slash.original.content
    world.fake.assert_no_violations()


async def test_answer_channel_refuses_a_channel_the_bot_cannot_post_in(world: World) -> None:
    closed = world.fake.create_channel(world.guild, "announcements")
    world.fake.set_overwrite(closed, world.guild, deny=SEND_MESSAGES)
    await world.fake.flush()

    refused = await world.run("citebot settings answer-channel", {"channel": closed, "enabled": True})

    assert refused.ephemeral and refused.original is not None
    assert "**Send Messages**" in refused.original.content and closed.mention in refused.original.content
    assert (await world.bot.guild_config(world.guild.id)).answer_channels == ()
    world.fake.assert_no_violations()


async def test_answer_channel_refuses_when_the_message_content_intent_is_off(
    make_world: WorldFactory,
) -> None:
    async with make_world(fake_options={"privileged_intents": ()}, message_content=False) as world:
        refused = await world.run(
            "citebot settings answer-channel", {"channel": world.channel, "enabled": True}
        )

        assert refused.original is not None and "Message Content intent" in refused.original.content
        assert (await world.bot.guild_config(world.guild.id)).answer_channels == ()
        world.fake.assert_no_violations()


async def test_a_mention_of_the_bots_managed_role_is_a_question(world: World) -> None:
    role = world.fake.bot_role(world.guild)
    waiting = world.fake.wait_for_message(check=lambda m: bool(m.embeds), timeout=ANSWER_TIMEOUT)
    await world.fake.send_message(world.channel, world.member, KIM_QUESTION, mentions=[role])

    answer = await waiting

    thread = world.fake.channels[answer.channel_id]
    assert thread.parent_id == world.channel.id and thread.name == KIM_QUESTION
    assert "60 km/h" in embed_of(answer)["description"]
    world.fake.assert_no_violations()


async def test_mentions_are_not_prefix_commands(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        await world.mention(KIM_QUESTION)

    assert "CommandNotFound" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_answer_channel_that_lost_send_messages_tells_the_asker_by_dm(world: World) -> None:
    desk = world.fake.create_channel(world.guild, "ask-here")
    await world.fake.flush()
    await world.run("citebot settings answer-channel", {"channel": desk, "enabled": True})
    world.fake.set_overwrite(desk, world.fake.bot_role(world.guild), deny=SEND_MESSAGES)
    waiting = world.fake.wait_for_message(timeout=ANSWER_TIMEOUT)

    await world.fake.send_message(desk, world.member, KIM_QUESTION)
    notice = await waiting

    assert world.fake.channels[notice.channel_id].guild_id is None, "by DM: the channel is closed to the bot"
    assert "**Send Messages**" in notice.content and desk.mention in notice.content
    world.fake.assert_no_violations()
