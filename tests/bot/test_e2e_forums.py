"""Forum channels as answer channels: each new post answered once inside it; follow-ups from its author."""

from __future__ import annotations

import pytest

from bot import quiet
from tests.bot.harness import KIM_QUESTION, World, embed_of
from tests.bot.helpdesk import answer_forum, open_post, record_when, say, stays_quiet

pytestmark = pytest.mark.model


async def test_a_new_post_is_answered_inside_it_from_its_title_and_first_message(world: World) -> None:
    forum = await answer_forum(world)

    post, answer = await open_post(world, forum, "Kim's armored train", "How fast does it go?")

    embed = embed_of(answer)
    assert embed["title"] == "Kim's armored train: How fast does it go?"
    assert "60 km/h" in embed["description"]
    assert answer.reference is None and not answer.pinging
    assert "Solved" in [c.get("label") for row in answer.components for c in row["components"]]
    record = await record_when(world, post, lambda r: r.answers == 1)
    assert record.asker_id == world.member.id and record.solved_at is None
    world.fake.assert_no_violations()


async def test_the_title_alone_can_be_the_question(world: World) -> None:
    forum = await answer_forum(world)
    _, answer = await open_post(world, forum, KIM_QUESTION, "Asking for a trip report, thanks")
    assert "60 km/h" in embed_of(answer)["description"]


async def test_the_posts_author_gets_follow_ups_without_a_mention(world: World) -> None:
    forum = await answer_forum(world)
    post, _ = await open_post(world, forum, "Kim's armored train", "How fast does it go?")

    follow_up = await say(world, post, "and how long does the trip take?")

    assert "20 hours" in embed_of(follow_up)["description"]
    await record_when(world, post, lambda r: r.answers == 2)
    world.fake.assert_no_violations()


async def test_others_in_a_post_are_answered_only_when_they_mention_citebot(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    forum = await answer_forum(world)
    post, _ = await open_post(world, forum, "Kim's armored train", "How fast does it go?")
    other = world.fake.add_member(world.guild, "olga")
    await world.fake.flush()

    await stays_quiet(world, caplog, post, "How long does the trip take?", quiet.NOT_ASKER, user=other)
    mentioned = await say(
        world, post, "How long does the trip take?", user=other, mentions=[world.fake.bot_user]
    )

    assert "20 hours" in embed_of(mentioned)["description"]
    assert not mentioned.pinging
    world.fake.assert_no_violations()


async def test_posts_in_a_forum_that_is_not_an_answer_channel_are_left_alone(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    forum = world.fake.create_forum(world.guild, "chat", tags=["Solved"])
    await world.fake.flush()
    post, _ = await world.fake.create_forum_post(forum, world.member, "Kim's train", KIM_QUESTION)
    # A mention in the post is still answered, inside it: the first message citebot posts there.
    answer = await say(world, post, KIM_QUESTION, mentions=[world.fake.bot_user])
    assert [m.id for m in world.fake.bot_messages(post)] == [answer.id]
    world.fake.assert_no_violations()


async def test_a_forum_where_citebot_cannot_post_is_refused(world: World) -> None:
    forum = world.fake.create_forum(world.guild, "closed", tags=["Solved"])
    world.fake.set_overwrite(
        forum, world.fake.bot_role(world.guild), deny=1 << 38
    )  # Send Messages in Threads
    await world.fake.flush()

    refused = await world.run("citebot settings answer-channel", {"channel": forum, "enabled": True})

    assert refused.original is not None and "Send Messages in Threads" in refused.original.content
    assert (await world.bot.guild_config(world.guild.id)).answer_channels == ()
    world.fake.assert_no_violations()
