"""Short answers, quiet threads and the commands' options, end to end on the fake Discord."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import STALE_COMMAND
from config.settings import Settings
from tests.bot.harness import (
    ANSWER_TIMEOUT,
    KIM_QUESTION,
    World,
    WorldFactory,
    bot_settings,
    embed_of,
    modal_inputs,
)
from tests.fakediscord import Channel, Message
from tests.fakediscord.validation import embed_size

pytestmark = pytest.mark.model

OUTSIDE = "Who won the 1998 football World Cup final?"


def option(world: World, command: str, name: str) -> dict[str, object]:
    """Return a registered option of a global command."""
    [cmd] = [c for c in world.fake.commands.list(None) if c["name"] == command]
    return next(o for o in cmd["options"] if o["name"] == name)


async def test_the_seed_answer_is_compact_and_quotes_the_60_kmh_sentence_in_bold(world: World) -> None:
    handle = await world.ask(KIM_QUESTION)
    embed = embed_of(handle.original)

    assert embed_size(embed) <= 700, embed
    quoted = embed["fields"][0]["value"]
    assert "60 km/h" in quoted.split("**")[1], "the answer sentence is the bold part of the quote"
    world.fake.assert_no_violations()


async def test_a_server_can_choose_full_passages(world: World) -> None:
    compact = embed_of((await world.ask(KIM_QUESTION)).original)
    saved = await world.run("citebot settings answer-style", {"style": "full"})
    assert saved.original is not None and "**Answer style:** full" in saved.original.content

    full = embed_of((await world.ask(KIM_QUESTION)).original)

    assert [f["name"][:3] for f in full["fields"]] == ["[1]", "[2]", "[3]"], "every source quoted in full"
    assert embed_size(full) > 2 * embed_size(compact)
    world.fake.assert_no_violations()


async def test_an_abstention_has_no_buttons(world: World) -> None:
    handle = await world.ask(OUTSIDE)

    assert handle.original is not None and "couldn't find" in embed_of(handle.original)["description"]
    assert handle.original.button_ids() == [], "no More sources (there are none) and nothing to rate"
    world.fake.assert_no_violations()


async def test_ask_can_answer_privately(world: World) -> None:
    handle = await world.run("ask", {"question": KIM_QUESTION, "private": True}, user=world.member)

    assert handle.ephemeral and handle.original is not None
    assert "60 km/h" in embed_of(handle.original)["description"]
    public = await world.ask(KIM_QUESTION, user=world.member)
    assert not public.ephemeral, "public by default"
    world.fake.assert_no_violations()


async def ask_in_thread(world: World) -> Channel:
    """Ask the seed question by mention and return the thread it opened."""
    answer = await world.mention(KIM_QUESTION)
    return world.fake.channels[answer.channel_id]


async def post_then_ask(world: World, thread: Channel, chatter: list[str], question: str) -> list[Message]:
    """Post messages in a thread, then a real question; return the bot's messages after the first post."""
    since = max(world.fake.messages)
    for text in chatter:
        await world.fake.send_message(thread, world.member, text)
    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=thread, timeout=ANSWER_TIMEOUT))
    await asyncio.sleep(0)
    await world.fake.send_message(thread, world.member, question)
    await waiting
    return [m for m in world.fake.bot_messages(thread) if m.id > since]


async def test_small_talk_in_a_thread_gets_no_reply(world: World) -> None:
    thread = await ask_in_thread(world)

    after = await post_then_ask(world, thread, ["thanks!", "ok cool", "lol"], "and how long is the trip?")

    assert len(after) == 1 and embed_of(after[0])["title"] == "and how long is the trip?"
    world.fake.assert_no_violations()


async def test_a_statement_the_articles_do_not_cover_gets_no_public_abstention(world: World) -> None:
    thread = await ask_in_thread(world)

    after = await post_then_ask(
        world, thread, ["my cousin once took a night train across Portugal"], "and how long is the trip?"
    )

    assert [embed_of(m)["title"] for m in after] == ["and how long is the trip?"]
    world.fake.assert_no_violations()


async def test_a_cooldown_notice_after_a_mention_is_deleted_after_a_few_seconds(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    async with make_world(bot_settings(quiet_settings, ask_cooldown=60.0)) as world:
        world.bot.notice_seconds = 0.2
        await world.mention(KIM_QUESTION)
        waiting = world.fake.wait_for_message(channel=world.channel, timeout=ANSWER_TIMEOUT)
        await world.fake.send_message(
            world.channel, world.member, "And his plane?", mentions=[world.fake.bot_user]
        )

        notice = await waiting
        assert "again in" in notice.content and notice.reference is not None
        await world.fake.wait_until(lambda: notice.deleted, ANSWER_TIMEOUT, "the notice to be deleted")
        world.fake.assert_no_violations()


async def test_add_alone_opens_a_form_that_keeps_line_breaks(world: World) -> None:
    opened = await world.run("add", {})

    assert opened.response_type == 9 and opened.modal is not None, "a modal is the first response"
    [body] = [c["component"] for c in opened.modal["components"] if c["label"] == "Text"]
    assert body["style"] == 2 and body["max_length"] == 4000, "a multi-line text box"
    ids = modal_inputs(opened.modal)
    text = "Opening hours\n\nThe archive opens at nine.\nIt closes at five on weekdays."
    submitted = await world.fake.submit_modal(opened, {ids["Text"]: text, ids["Title"]: "Archive"})
    await submitted.wait_done(ANSWER_TIMEOUT)

    assert submitted.original is not None and submitted.original.content.startswith("Added **Archive**")
    [article] = [
        a for a in await world.bot.service.list_articles(f"g{world.guild.id}") if a.title == "Archive"
    ]
    stored = world.bot.service._service.kb(f"g{world.guild.id}").store.article_text(article.id)
    assert "nine.\nIt closes" in stored
    world.fake.assert_no_violations()


async def test_option_descriptions_say_what_is_accepted(world: World) -> None:
    assert "http:// or https://" in str(option(world, "add", "url")["description"])
    assert ".txt, .md, .html or .pdf" in str(option(world, "add", "file")["description"])
    assert "instead of the article's own" in str(option(world, "add", "title")["description"])
    assert "only you see the answer" in str(option(world, "ask", "private")["description"])
    assert option(world, "ask", "question")["max_length"] == world.settings.limits.max_question_chars
    [cmd] = [c for c in world.fake.commands.list(None) if c["name"] == "add"]
    assert "neither to paste text" in cmd["description"]


async def test_a_command_the_bot_no_longer_has_asks_for_a_sync(world: World) -> None:
    world.fake.commands.upsert(None, {"name": "summarise", "description": "An old command", "type": 1})

    handle = await world.run("summarise", {})

    assert handle.ephemeral and handle.original is not None and handle.original.content == STALE_COMMAND
    assert "citebot sync" in STALE_COMMAND and "admin" in STALE_COMMAND
    world.fake.assert_no_violations()
