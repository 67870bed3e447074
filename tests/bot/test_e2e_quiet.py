"""Knowing when to stay quiet, end to end: each rule on by default, and each one a setting."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest

from bot import quiet
from retrieval.records import now
from tests.bot.harness import ANSWER_TIMEOUT, KIM_QUESTION, World, embed_of
from tests.bot.helpdesk import (
    answer_channel,
    answer_forum,
    helper,
    moderator,
    open_post,
    record_when,
    say,
    stays_quiet,
)

pytestmark = pytest.mark.model

STATEMENT = "Kim's train speed between Pyongyang and Vladivostok"
FOLLOW_UP = "and how long does the trip take?"


async def set_quiet(world: World, **options: object) -> str:
    """Change quiet rules with /citebot settings quiet and return what citebot replied."""
    saved = await world.run("citebot settings quiet", options)
    assert saved.ephemeral and saved.original is not None and not saved.original.pinging
    return saved.original.content


async def test_the_defaults_are_shown_with_the_settings(world: World) -> None:
    shown = await world.run("citebot settings show")
    assert shown.original is not None
    assert (
        "**Unprompted answers:** only questions and requests; not greetings, thanks, short replies or "
        "replies to others; not once a helper or moderator replied; at most 3 answers per thread; "
        "waits 0 s for the rest of a question." in shown.original.content
    )


async def test_only_messages_that_read_as_questions_are_answered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    desk = await answer_channel(world)
    await stays_quiet(world, caplog, desk, STATEMENT, quiet.NOT_A_QUESTION)
    asked = await say(world, desk, "how fast does Kim's train go")  # a question without "?"
    assert "60 km/h" in embed_of(asked)["description"]

    saved = await set_quiet(world, **{"questions-only": False})

    assert "**Unprompted answers:** any message;" in saved
    answered = await say(world, desk, STATEMENT)
    assert "60 km/h" in embed_of(answered)["description"]
    world.fake.assert_no_violations()


async def test_greetings_thanks_and_replies_between_people_get_no_answer(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    desk = await answer_channel(world)
    for text in ("hi everyone", "thanks, that worked!", "ok cool", "yes it does"):
        await stays_quiet(world, caplog, desk, text, quiet.CHATTER)
    welcome = await world.fake.send_message(desk, world.editor, "Welcome! Ask away, someone will help.")
    await stays_quiet(world, caplog, desk, KIM_QUESTION, quiet.BETWEEN_PEOPLE, reply_to=welcome)

    await set_quiet(world, **{"skip-chatter": False})

    answered = await say(world, desk, KIM_QUESTION, reply_to=welcome)
    assert "60 km/h" in embed_of(answered)["description"]
    world.fake.assert_no_violations()


async def test_once_a_helper_replied_in_a_post_citebot_stays_quiet(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    forum = await answer_forum(world)
    role, helping = helper(world)
    await world.bot.configs.update(world.guild.id, helper_role_id=role.id)
    await world.fake.flush()
    post, _ = await open_post(world, forum, "Kim's armored train", "How fast does it go?")

    await world.fake.send_message(post, helping, "It depends on the track; see the timetable.")
    await stays_quiet(world, caplog, post, FOLLOW_UP, quiet.STAFF_REPLIED)

    assert (await record_when(world, post, lambda r: r.staff_replied_at is not None)).answers == 1
    world.fake.assert_no_violations()


async def test_a_moderators_reply_counts_as_staff_and_the_rule_can_be_turned_off(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    forum = await answer_forum(world)
    mod = moderator(world)
    await world.fake.flush()
    post, _ = await open_post(world, forum, "Kim's armored train", "How fast does it go?")
    await world.fake.send_message(post, mod, "Let me check that for you.")
    await stays_quiet(world, caplog, post, FOLLOW_UP, quiet.STAFF_REPLIED)

    await set_quiet(world, **{"after-staff": False})

    answered = await say(world, post, FOLLOW_UP)
    assert "20 hours" in embed_of(answered)["description"]
    world.fake.assert_no_violations()


async def test_a_plain_members_reply_does_not_silence_citebot(world: World) -> None:
    forum = await answer_forum(world)
    passerby = world.fake.add_member(world.guild, "pat")
    await world.fake.flush()
    post, _ = await open_post(world, forum, "Kim's armored train", "How fast does it go?")
    await world.fake.send_message(post, passerby, "I'd like to know too")
    answered = await say(world, post, FOLLOW_UP)
    assert "20 hours" in embed_of(answered)["description"]


async def test_at_most_n_answers_per_post_unless_mentioned(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    forum = await answer_forum(world)
    saved = await set_quiet(world, **{"max-answers": 1})
    assert "at most 1 answers per thread" in saved
    post, _ = await open_post(world, forum, "Kim's armored train", "How fast does it go?")

    await stays_quiet(world, caplog, post, FOLLOW_UP, quiet.ANSWER_LIMIT)
    mentioned = await say(world, post, FOLLOW_UP, mentions=[world.fake.bot_user])

    assert "20 hours" in embed_of(mentioned)["description"]
    world.fake.assert_no_violations()


async def test_the_answer_limit_holds_in_citebots_own_threads(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await set_quiet(world, **{"max-answers": 2})
    first = await world.mention(KIM_QUESTION)
    thread = world.fake.channels[first.channel_id]
    second = await say(world, thread, FOLLOW_UP)
    assert "20 hours" in embed_of(second)["description"]
    await stays_quiet(world, caplog, thread, "what about the distance?", quiet.ANSWER_LIMIT)


async def test_after_a_hand_off_citebot_answers_only_when_mentioned(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    forum = await answer_forum(world)
    post, _ = await open_post(world, forum, "Kim's armored train", "How fast does it go?")
    record = await record_when(world, post, lambda r: r.answers == 1)
    await world.bot.service.save_thread(replace(record, handed_off_at=now()))  # "Ask a helper" was pressed

    await stays_quiet(world, caplog, post, FOLLOW_UP, quiet.HANDED_OFF)
    mentioned = await say(world, post, FOLLOW_UP, mentions=[world.fake.bot_user])
    assert "20 hours" in embed_of(mentioned)["description"]


async def test_citebot_waits_for_the_askers_next_messages_and_takes_them_as_one_question(
    world: World,
) -> None:
    desk = await answer_channel(world)
    saved = await set_quiet(world, wait=0.5)
    assert "waits 0.5 s for the rest of a question" in saved

    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=desk, timeout=ANSWER_TIMEOUT))
    await asyncio.sleep(0)
    first = await world.fake.send_message(desk, world.member, "How fast does Kim's train go")
    await world.fake.send_message(desk, world.editor, "good question")  # someone else: not part of it
    await world.fake.send_message(desk, world.member, "between Pyongyang and Vladivostok?")
    answer = await waiting

    assert embed_of(answer)["title"] == "How fast does Kim's train go between Pyongyang and Vladivostok?"
    assert "60 km/h" in embed_of(answer)["description"]
    assert answer.reference is not None and answer.reference["message_id"] == str(first.id)
    assert [m.id for m in world.fake.bot_messages(desk)] == [answer.id], "one answer for the three messages"
    world.fake.assert_no_violations()


async def test_dry_run_logs_what_it_would_answer_and_posts_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    desk = await answer_channel(world)
    saved = await set_quiet(world, **{"dry-run": True})
    assert "**Dry run:** nothing is posted unprompted" in saved
    caplog.set_level(logging.INFO, logger="bot.gate")

    asked = await world.fake.send_message(desk, world.member, KIM_QUESTION)

    def logged() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("dry run:")]

    [line] = await world.fake.wait_until(logged, ANSWER_TIMEOUT, "the dry-run log")
    assert line.startswith(
        f"dry run: would answer message {asked.id} in channel {desk.id} (24 characters asked): "
    )
    assert "60 km/h" in line
    await stays_quiet(world, caplog, desk, "thanks!", quiet.CHATTER)  # each decision is logged too
    assert world.fake.bot_messages(desk) == []
    mentioned = await world.mention(KIM_QUESTION, channel=desk)  # mentions are still answered, in a thread
    assert world.fake.channels[mentioned.channel_id].parent_id == desk.id
    world.fake.assert_no_violations()
