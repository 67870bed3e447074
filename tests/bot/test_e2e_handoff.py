"""Ask a helper: the helper role, the button, its one ping, its limits, and the quiet thread after it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from bot.handoff import ALREADY, LABEL, NOT_YOURS
from tests.bot.harness import ANSWER_TIMEOUT, KIM_QUESTION, World, button_id, embed_of
from tests.fakediscord import InteractionHandle, Message, Pings, Role
from tests.fakediscord.models import DEFAULT_EVERYONE_PERMISSIONS

pytestmark = pytest.mark.model

OUTSIDE = "Who won the 1998 football World Cup final?"
HOSTILE = "@everyone <@123> <@&456> @here who won the 1998 football World Cup final?"


async def set_helper_role(world: World, *, mentionable: bool = True) -> tuple[Role, InteractionHandle]:
    """Create a helpers role and make it the server's helper role."""
    role = world.fake.create_role(world.guild, "helpers", mentionable=mentionable)
    await world.fake.flush()
    saved = await world.run("citebot settings helper-role", {"role": role})
    return role, saved


def assert_only_helper_pings(world: World, role: Role, calls: Iterable[Message]) -> None:
    """Nothing citebot posted pings anyone, except the hand-off messages, which ping the helper role alone."""
    allowed = {m.id for m in calls}
    for msg in world.fake.messages.values():
        if msg.author is not world.fake.bot_user:
            continue
        if msg.id in allowed:
            assert msg.pings == Pings(roles={role.id}), msg.content
            assert msg.allowed_mentions == {"parse": [], "roles": [role.id]}
        else:
            assert not msg.pinging, msg.content


async def test_the_helper_role_is_saved_and_shown(world: World) -> None:
    role, saved = await set_helper_role(world)

    assert saved.original is not None and saved.ephemeral
    assert f"**Helper role** (pinged by *Ask a helper*): {role.mention}" in saved.original.content
    assert (await world.bot.guild_config(world.guild.id)).helper_role_id == role.id
    assert not saved.original.pinging, "showing the setting pings no one"
    world.fake.assert_no_violations()


async def test_everyone_cannot_be_the_helper_role(world: World) -> None:
    everyone = world.guild.roles[world.guild.id]
    refused = await world.run("citebot settings helper-role", {"role": everyone})

    assert refused.original is not None and "not @everyone" in refused.original.content
    assert (await world.bot.guild_config(world.guild.id)).helper_role_id is None
    world.fake.assert_no_violations()


async def test_a_role_that_would_notify_no_one_gets_a_warning(world: World) -> None:
    world.fake.set_role_permissions(world.fake.bot_role(world.guild), DEFAULT_EVERYONE_PERMISSIONS)
    _, saved = await set_helper_role(world, mentionable=False)
    [warning] = await saved.wait_followups(1, ANSWER_TIMEOUT)

    assert "not mentionable" in warning.content and "Mention Everyone" in warning.content
    assert warning.ephemeral and not warning.pinging
    world.fake.assert_no_violations()


async def test_an_abstention_offers_a_helper_and_the_press_pings_the_role_alone(world: World) -> None:
    role, _ = await set_helper_role(world)
    answer = await world.mention(HOSTILE)
    assert "couldn't find" in embed_of(answer)["description"]

    pressed = await world.press(answer, LABEL, user=world.member)
    call = pressed.original

    assert call is not None and not call.ephemeral
    assert call.channel_id == answer.channel_id, "posted in the question's thread"
    assert call.content.startswith(f"{role.mention} **mo** would like a helper here")
    assert "1998 football World Cup final" in call.content
    assert_only_helper_pings(world, role, [call])
    thread = await world.bot.service.thread(answer.channel_id)
    assert thread is not None and thread.handed_off_at is not None
    world.fake.assert_no_violations()


async def test_without_a_helper_role_there_is_no_button(world: World) -> None:
    abstention = await world.mention(OUTSIDE)
    answer = (await world.ask(KIM_QUESTION, user=world.member)).original
    assert answer is not None
    voted = await world.click(answer, button_id_down(answer), user=world.member)
    assert voted.modal is not None
    thanked = await (await world.fake.submit_modal(voted, {"reason": ["wrong"]})).wait_done()

    assert not [b for b in abstention.button_ids() if b.startswith("cb:helper:")]
    assert thanked.original is not None and thanked.original.button_ids() == []
    world.fake.assert_no_violations()


def button_id_down(message: Message) -> str:
    """Return the 👎 button's custom id."""
    return next(b for b in message.button_ids() if b.startswith("cb:fb:down:"))


async def test_after_a_thumbs_down_the_thanks_offer_a_helper(world: World) -> None:
    role, _ = await set_helper_role(world)
    answer = (await world.ask(KIM_QUESTION, user=world.member)).original
    assert answer is not None
    assert not [b for b in answer.button_ids() if b.startswith("cb:helper:")], "a sure answer: no button"

    liked = await world.click(answer, answer.button_ids()[0], user=world.member)
    disliked = await world.click(answer, button_id_down(answer), user=world.member)
    assert liked.original is not None and liked.original.button_ids() == []
    assert disliked.modal is not None, "a 👎 opens the reason form first"
    thanked = await (await world.fake.submit_modal(disliked, {"reason": ["wrong"]})).wait_done()
    assert thanked.original is not None and thanked.ephemeral
    assert "**wrong answer**" in thanked.original.content.lower()

    pressed = await world.press(thanked.original, LABEL, user=world.member)
    assert pressed.original is not None and not pressed.original.ephemeral
    assert "my answer didn't help" in pressed.original.content
    assert_only_helper_pings(world, role, [pressed.original])
    world.fake.assert_no_violations()


async def test_after_a_bystanders_thumbs_down_the_thanks_offer_no_helper(world: World) -> None:
    await set_helper_role(world)
    bystander = world.fake.add_member(world.guild, "bea")
    answer = (await world.ask(KIM_QUESTION, user=world.member)).original
    assert answer is not None

    disliked = await world.click(answer, button_id_down(answer), user=bystander)
    assert disliked.modal is not None
    thanked = await (await world.fake.submit_modal(disliked, {"reason": ["wrong"]})).wait_done()

    # Pressing it would only answer NOT_YOURS: the asker or an editor calls a helper.
    assert thanked.original is not None and thanked.original.button_ids() == []
    world.fake.assert_no_violations()


async def test_a_question_gets_one_helper_call(world: World) -> None:
    role, _ = await set_helper_role(world)
    answer = await world.mention(OUTSIDE)

    first = await world.press(answer, LABEL, user=world.member)
    again = await world.press(answer, LABEL, user=world.member)

    assert again.ephemeral and again.original is not None and again.original.content == ALREADY
    assert first.original is not None
    assert_only_helper_pings(world, role, [first.original])
    world.fake.assert_no_violations()


async def test_helper_calls_are_rate_limited_per_server(world: World) -> None:
    role, _ = await set_helper_role(world)
    first_answer = await world.mention(OUTSIDE)
    second_answer = await world.mention("Who painted the ceiling of the Sistine Chapel?")

    first = await world.press(first_answer, LABEL, user=world.member)
    second = await world.press(second_answer, LABEL, user=world.member)

    assert second.ephemeral and second.original is not None
    assert "called in this server recently" in second.original.content
    assert first.original is not None
    assert_only_helper_pings(world, role, [first.original])
    record = await world.bot.service.answer(button_id(second_answer, LABEL).rsplit(":", 1)[1])
    assert record is not None and record.handed_off_at is None, "the refused call is not recorded"
    world.fake.assert_no_violations()


async def test_only_the_asker_or_an_editor_can_call_a_helper(world: World) -> None:
    role, _ = await set_helper_role(world)
    bystander = world.fake.add_member(world.guild, "bea")
    answer = await world.mention(OUTSIDE)

    refused = await world.press(answer, LABEL, user=bystander)
    by_editor = await world.press(answer, LABEL, user=world.editor)

    assert refused.ephemeral and refused.original is not None and refused.original.content == NOT_YOURS
    assert by_editor.original is not None and by_editor.original.content.startswith(role.mention)
    world.fake.assert_no_violations()


async def test_after_the_call_citebot_answers_in_the_thread_only_when_mentioned(world: World) -> None:
    role, _ = await set_helper_role(world)
    answer = await world.mention(OUTSIDE)
    thread = world.fake.channels[answer.channel_id]
    call = (await world.press(answer, LABEL, user=world.member)).original
    assert call is not None

    await world.fake.send_message(thread, world.member, "How fast is the armored train of Kim Jong Un?")
    waiting = asyncio.ensure_future(
        world.fake.wait_for_message(channel=thread, check=lambda m: bool(m.embeds), timeout=ANSWER_TIMEOUT)
    )
    await asyncio.sleep(0)
    await world.fake.send_message(thread, world.member, KIM_QUESTION, mentions=[world.fake.bot_user])
    mentioned = await waiting

    assert embed_of(mentioned)["title"] == KIM_QUESTION
    answers = [m for m in world.fake.bot_messages(thread) if m.embeds]
    assert [m.id for m in answers] == [answer.id, mentioned.id], "the unmentioned question got no answer"
    assert_only_helper_pings(world, role, [call])
    world.fake.assert_no_violations()
