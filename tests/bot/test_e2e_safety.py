"""Servers stay apart, article text never pings or links, long input stays within limits."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.bot.harness import ANSWER_TIMEOUT, World, embed_of, first_channel, text_of

pytestmark = pytest.mark.model

LIGHTHOUSE = (
    "The Skerrivore lighthouse was lit for the first time in 1844. "
    "Its lamp burns colza oil and can be seen 18 nautical miles out to sea."
)
HOSTILE_TITLE = "@everyone <@123> [click](https://evil.example) Skerrivore notice"
HOSTILE_TEXT = (
    "@everyone The Skerrivore lighthouse keeper <@123> says the lamp burns colza oil. "
    "Read more at [click](https://evil.example) and @here too."
)

PING = re.compile(r"@(everyone|here)\b|<@[!&]?\d+>")
MASKED_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\((?!\\)")


async def test_an_article_of_one_server_never_reaches_another(world: World) -> None:
    other, manager = world.add_server("Other Server")
    await world.fake.wait_until(lambda: world.bot.get_guild(other.id), 5)
    await world.add_text(LIGHTHOUSE, title="The Skerrivore lighthouse")

    answer = await world.ask("When was the Skerrivore lighthouse first lit?", guild=other, user=manager)
    listing = await world.run("sources", guild=other, user=manager)
    typed = await world.fake.autocomplete(
        other, first_channel(other), manager, "remove", {"article": ""}, "article"
    )
    await typed.wait_response(ANSWER_TIMEOUT)

    shown = embed_of(answer.original)
    assert "Skerrivore" not in shown["description"] + str(shown.get("fields"))
    assert "Skerrivore" not in text_of(listing.original)
    assert embed_of(listing.original)["title"] == "Articles in this server (1)"
    assert typed.choices is not None and len(typed.choices) == 1
    assert "Skerrivore" not in typed.choices[0]["name"]
    world.fake.assert_no_violations()


async def test_mentions_and_links_in_an_article_ping_no_one_and_link_nothing(world: World) -> None:
    added = await world.add_text(HOSTILE_TEXT, title=HOSTILE_TITLE)
    answer = await world.ask("What does the Skerrivore lamp burn?")
    in_thread = await world.mention("What does the Skerrivore lamp burn?")

    for message in (added.original, answer.original, in_thread):
        assert message is not None
        shown = text_of(message)
        assert "Skerrivore" in shown
        assert not message.pinging, shown
        assert message.allowed_mentions == {"parse": []}
        assert not PING.search(shown), shown
        assert not MASKED_LINK.search(shown), shown
        assert "https://evil.example" not in shown
    assert "colza" in embed_of(answer.original)["description"]
    world.fake.assert_no_violations()


async def test_a_mentioned_question_with_everyone_pings_no_one(world: World) -> None:
    answer = await world.mention("@everyone how fast is Kim's train?")

    assert not answer.pinging and not PING.search(text_of(answer))
    world.fake.assert_no_violations()


async def test_an_overlong_mentioned_question_is_refused_without_opening_a_thread(world: World) -> None:
    question = "How fast does the armored train travel between Pyongyang and the border " * 20
    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=world.channel))
    await asyncio.sleep(0)

    asked = await world.fake.send_message(
        world.channel, world.member, question, mentions=[world.fake.bot_user]
    )
    reply = await waiting

    assert re.fullmatch(r"the question is \d{4} characters long; the limit is 500", reply.content)
    assert reply.reference is not None and reply.reference["message_id"] == str(asked.id)
    assert not reply.pinging
    assert not [c for c in world.fake.channels.values() if c.parent_id == world.channel.id]
    world.fake.assert_no_violations()
