"""Solved: the button under answers in threads and /solved; the tag, closing, the record, and silence after."""

from __future__ import annotations

import pytest

from bot import quiet
from bot.gate import SOLVED_NOTICE
from bot.solved import ALREADY, NOT_ALLOWED, NOT_IN_THREAD
from tests.bot.harness import ANSWER_TIMEOUT, KIM_QUESTION, World, button_id, embed_of
from tests.bot.helpdesk import answer_forum, helper, open_post, record_when, say, stays_quiet
from tests.bot.test_e2e_safety import PING
from tests.fakediscord import Channel, InteractionHandle, Member, Message

pytestmark = pytest.mark.model


async def press_solved(world: World, answer: Message, user: Member | None = None) -> InteractionHandle:
    """Press "Solved" under an answer (as the member who asked, by default)."""
    return await world.click(answer, button_id(answer, "Solved"), user or world.member)


async def solve(world: World, thread: Channel, user: Member | None = None) -> InteractionHandle:
    """Run /solved in a thread (as the member who asked, by default)."""
    return await world.run("solved", {}, user=user or world.member, channel=thread)


async def closed(world: World, thread: Channel) -> None:
    """Wait until citebot closed a thread (it says "solved" first, then archives)."""
    await world.fake.wait_until(
        lambda: thread.archived, ANSWER_TIMEOUT, f"thread {thread.name} to be archived"
    )


async def test_the_asker_presses_solved_the_tag_is_applied_and_the_post_closed(world: World) -> None:
    forum = await answer_forum(world)
    post, answer = await open_post(world, forum, "Kim's armored train", "How fast does it go?", tags=["Bug"])

    pressed = await press_solved(world, answer)

    assert pressed.original is not None and not pressed.ephemeral
    assert pressed.original.content == "✅ Marked solved by mo. Thanks!" and not pressed.original.pinging
    await closed(world, post)
    assert not post.locked
    assert post.applied_tags == [world.fake.tag_id(forum, "Bug"), world.fake.tag_id(forum, "Solved")]
    record = await record_when(world, post, lambda r: r.solved_at is not None)
    assert record.solved_by == world.member.id and record.asker_id == world.member.id
    answer_id = button_id(answer, "Solved").removeprefix("cb:solved:")
    assert record.solved_answer_id == answer_id and (await world.bot.service.answer(answer_id)) is not None
    world.fake.assert_no_violations()


async def test_the_solved_tag_is_found_by_name_whatever_its_case_and_emoji(world: World) -> None:
    forum = await answer_forum(world, tags=["Bug", "✅ SOLVED"])
    post, answer = await open_post(world, forum, "Kim's armored train", "How fast does it go?")
    await press_solved(world, answer)
    await closed(world, post)
    assert post.applied_tags == [world.fake.tag_id(forum, "✅ SOLVED")]


async def test_a_forum_without_a_solved_tag_only_closes_the_post(world: World) -> None:
    forum = await answer_forum(world, tags=["Bug", "Question"])
    post, answer = await open_post(
        world, forum, "Kim's armored train", "How fast does it go?", tags=["Question"]
    )
    await press_solved(world, answer)
    await closed(world, post)
    assert post.applied_tags == [world.fake.tag_id(forum, "Question")]
    world.fake.assert_no_violations()


async def test_a_post_with_five_tags_gives_up_its_last_for_solved(world: World) -> None:
    names = ["A", "B", "C", "D", "E", "Solved"]
    forum = await answer_forum(world, tags=names)
    post, answer = await open_post(
        world, forum, "Kim's armored train", "How fast does it go?", tags=names[:5]
    )
    await press_solved(world, answer)
    await closed(world, post)
    assert post.applied_tags == [world.fake.tag_id(forum, n) for n in ["A", "B", "C", "D", "Solved"]]
    world.fake.assert_no_violations()  # the fake refuses a sixth tag


async def test_solved_in_citebots_own_thread_archives_it_without_manage_threads(world: World) -> None:
    answer = await world.mention(KIM_QUESTION)
    thread = world.fake.channels[answer.channel_id]
    assert thread.owner_id == world.fake.bot_user.id

    done = await solve(world, thread)

    assert done.original is not None and done.original.content.startswith("✅ Marked solved by mo")
    await closed(world, thread)
    record = await record_when(world, thread, lambda r: r.solved_at is not None)
    assert record.asker_id == world.member.id and record.solved_answer_id is None  # /solved names no answer
    world.fake.assert_no_violations()


async def test_only_the_asker_an_editor_or_a_helper_may_mark_it_solved(world: World) -> None:
    forum = await answer_forum(world)
    post, answer = await open_post(world, forum, "Kim's armored train", "How fast does it go?")
    role, helping = helper(world)
    stranger = world.fake.add_member(world.guild, "sam")
    await world.fake.flush()

    refused = await press_solved(world, answer, stranger)
    assert refused.ephemeral and refused.original is not None and refused.original.content == NOT_ALLOWED
    refused = await press_solved(world, answer, helping)  # no helper role set yet
    assert refused.original is not None and refused.original.content == NOT_ALLOWED
    assert not post.archived

    await world.bot.configs.update(world.guild.id, helper_role_id=role.id)
    done = await press_solved(world, answer, helping)
    assert done.original is not None and done.original.content.startswith("✅ Marked solved by helper")
    await closed(world, post)
    world.fake.assert_no_violations()


async def test_an_editor_may_mark_any_thread_solved(world: World) -> None:
    forum = await answer_forum(world)
    post, _ = await open_post(world, forum, "Kim's armored train", "How fast does it go?")
    done = await solve(world, post, world.editor)
    assert done.original is not None and done.original.content.startswith("✅ Marked solved by erin")
    await closed(world, post)


async def test_solved_outside_a_thread_says_where_to_use_it(world: World) -> None:
    refused = await world.run("solved", {}, user=world.member)
    assert refused.ephemeral and refused.original is not None and refused.original.content == NOT_IN_THREAD


async def test_without_manage_threads_the_question_is_still_solved_and_the_person_told(world: World) -> None:
    forum = await answer_forum(world, manage_threads=False)
    post, answer = await open_post(world, forum, "Kim's armored train", "How fast does it go?")

    pressed = await press_solved(world, answer)

    def told() -> list[Message]:
        return [m for m in world.fake.messages_in(post) if m.ephemeral and "Manage Threads" in m.content]

    [notice] = await world.fake.wait_until(told, ANSWER_TIMEOUT, "the missing permission to be told")
    assert notice.content.startswith("Marked solved, but I couldn't close this post") and pressed.responded
    assert not post.archived
    assert (await record_when(world, post, lambda r: r.solved_at is not None)).solved_by == world.member.id
    world.fake.assert_no_violations()  # it checked before trying


async def test_citebot_never_answers_in_a_solved_post(world: World, caplog: pytest.LogCaptureFixture) -> None:
    forum = await answer_forum(world)
    post, answer = await open_post(world, forum, "Kim's armored train", "How fast does it go?")
    await press_solved(world, answer)
    await closed(world, post)

    # Posting reopens the post (Discord unarchives it); citebot stays quiet, even when mentioned.
    await stays_quiet(world, caplog, post, "and how long does the trip take?", quiet.SOLVED)
    assert not post.archived
    notice = await say(world, post, "how long does the trip take?", mentions=[world.fake.bot_user])
    assert notice.content == SOLVED_NOTICE and not notice.embeds and not notice.pinging
    again = await solve(world, post)
    assert again.original is not None and again.original.content == ALREADY
    world.fake.assert_no_violations()


async def test_answers_outside_threads_have_no_solved_button(world: World) -> None:
    asked = await world.ask(KIM_QUESTION)
    assert "60 km/h" in embed_of(asked.original)["description"]
    assert asked.original is not None and "Solved" not in [
        c.get("label") for row in asked.original.components for c in row["components"]
    ]


async def test_nothing_in_a_post_or_a_name_can_make_citebot_ping(world: World) -> None:
    forum = await answer_forum(world)
    hostile = world.fake.add_member(world.guild, "eve", nick="@everyone <@&1> [x](https://evil.example)")
    await world.fake.flush()
    _, answer = await open_post(
        world, forum, "@everyone Kim's train <@123>", "How fast does it go? @here", author=hostile
    )

    pressed = await press_solved(world, answer, hostile)

    assert pressed.original is not None
    for message in (answer, pressed.original):
        assert not message.pinging and message.allowed_mentions == {"parse": []}
        # Where Discord renders markdown and mentions (embed footers render neither):
        rendered = [message.content] + [
            e.get(k) or "" for e in message.embeds for k in ("title", "description")
        ]
        assert not any(PING.search(t) or "](https://evil" in t for t in rendered), rendered
    assert "60 km/h" in embed_of(answer)["description"]
    world.fake.assert_no_violations()
