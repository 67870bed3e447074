"""/ask end to end: the real bot and model on the fake Discord."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from config.settings import Settings
from retrieval.models import Answer
from tests.bot.harness import KIM_QUESTION, World, WorldFactory, bot_settings, embed_of
from tests.fakediscord import Message

pytestmark = pytest.mark.model

SEED_TITLE = "Kim Jong Un rides his armored train into Russia for talks with Putin"
BLURPLE = 0x5865F2
ANSWER_ID = r"[0-9a-f]{12}"


def buttons(message: Message) -> list[dict[str, Any]]:
    """Return the buttons of a message, in order."""
    return [c for row in message.components for c in row.get("components", [])]


async def test_ask_is_deferred_in_time_and_answered_with_a_cited_bold_quote(world: World) -> None:
    handle = await world.ask(KIM_QUESTION)

    assert handle.deferred and handle.responded_at is not None
    assert handle.responded_at - handle.created_at < world.fake.response_deadline
    embed = embed_of(handle.original)
    assert "60 km/h" in embed["description"] and "[1]" in embed["description"]
    first = embed["fields"][0]
    assert first["name"].startswith("[1] ")
    bold = re.findall(r"\*\*(.+?)\*\*", first["value"])
    assert bold and "60 km/h" in bold[0]
    assert "Searched" in embed["footer"]["text"]
    assert handle.original is not None and len(handle.original.button_ids()) == 3
    world.fake.assert_no_violations()


async def test_ask_answer_has_the_documented_embed_structure(world: World) -> None:
    handle = await world.ask(KIM_QUESTION)
    message = handle.original
    assert message is not None and not message.ephemeral and message.content == ""
    embed = embed_of(message)

    assert embed["title"] == KIM_QUESTION
    assert embed["color"] == BLURPLE
    # The answer: verbatim sentences, each followed by the number of its source.
    assert re.fullmatch(r"(?:[^\[\]]+ \[\d+\] ?)+", embed["description"])
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", embed["description"])}
    fields = embed["fields"]
    assert 1 <= len(fields) <= 3 and cited <= set(range(1, len(fields) + 1))
    for n, field in enumerate(fields, start=1):
        assert field["name"] == f"[{n}] {SEED_TITLE}"
        assert field["inline"] is False
        assert field["value"].startswith("> ") and "\n" not in field["value"]  # the seed has no URL
    assert field_has_bold_span(fields[0]["value"])
    assert re.fullmatch(
        r"Asked by erin · Searched 1 article in \d+\.\d\d s · extractive", embed["footer"]["text"]
    )
    ids = message.button_ids()
    answer_id = ids[-1].removeprefix("cb:more:")
    assert re.fullmatch(ANSWER_ID, answer_id)
    assert ids == [f"cb:fb:up:{answer_id}", f"cb:fb:down:{answer_id}", f"cb:more:{answer_id}"]
    assert [b.get("emoji", {}).get("name") or b.get("label") for b in buttons(message)] == [
        "👍",
        "👎",
        "More sources",
    ]
    assert message.allowed_mentions == {"parse": []}
    world.fake.assert_no_violations()


def field_has_bold_span(value: str) -> bool:
    """Tell whether a quoted passage marks exactly one answer span in bold."""
    return value.count("**") == 2


async def test_question_outside_the_articles_gets_an_abstention(world: World) -> None:
    handle = await world.ask("Who painted the Mona Lisa?")

    embed = embed_of(handle.original)
    assert embed["title"] == "Who painted the Mona Lisa?"
    assert embed["description"].startswith("I couldn't find that in the articles of this server.")
    assert "/add" in embed["description"] and "/sources" in embed["description"]
    assert embed["color"] != BLURPLE
    assert handle.original is not None
    assert not any(i.startswith("cb:fb:") for i in handle.original.button_ids())  # no votes on nothing
    world.fake.assert_no_violations()


async def test_thumbs_up_stores_the_vote_and_thanks_ephemerally(world: World) -> None:
    answer = await world.ask(KIM_QUESTION)
    assert answer.original is not None
    up = next(i for i in answer.original.button_ids() if i.startswith("cb:fb:up:"))
    answer_id = up.rsplit(":", 1)[1]

    click = await world.click(answer.original, up, user=world.member)

    assert click.ephemeral and click.original is not None
    assert click.original.content == "Thanks for the feedback!"
    record = await world.bot.service.feedback(answer_id, world.member.id)
    assert record is not None
    assert record.vote == "up" and record.question == KIM_QUESTION
    assert record.cited and all(isinstance(a, str) for a in record.cited)
    assert record.user_id == world.member.id and record.guild_id == world.guild.id
    world.fake.assert_no_violations()


async def test_a_second_vote_replaces_the_first(world: World) -> None:
    answer = await world.ask(KIM_QUESTION)
    assert answer.original is not None
    up, down, _ = answer.original.button_ids()

    await world.click(answer.original, up, user=world.member)
    await world.click(answer.original, down, user=world.member)

    record = await world.bot.service.feedback(up.rsplit(":", 1)[1], world.member.id)
    assert record is not None and record.vote == "down"
    world.fake.assert_no_violations()


async def test_more_sources_replies_only_to_the_clicker(world: World) -> None:
    answer = await world.ask(KIM_QUESTION)
    assert answer.original is not None
    more = answer.original.button_ids()[-1]

    click = await world.click(answer.original, more, user=world.member)

    assert click.ephemeral and click.original is not None
    more_embed = embed_of(click.original)
    assert more_embed["title"] == KIM_QUESTION
    names = [f["name"] for f in more_embed["fields"]]
    assert names and names[0].startswith("[4] "), "the three sources already shown are not repeated"
    assert "[1]" not in more_embed["description"], "the answer citing sources not shown is not repeated"
    assert "Asked by" not in more_embed["footer"]["text"]
    world.fake.assert_no_violations()


async def test_a_429_on_the_followup_is_retried_and_the_answer_arrives(world: World) -> None:
    world.fake.rate_limit("execute_webhook", times=1, retry_after=0.05)

    handle = await world.ask(KIM_QUESTION)

    assert "[1]" in embed_of(handle.original)["description"]
    assert [r.status for r in world.fake.requests_to("execute_webhook")] == [429, 200]
    assert len(world.fake.rate_limit_hits) == 1
    world.fake.assert_no_violations()


async def test_an_unexpected_error_gets_a_generic_private_reply_and_is_logged(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> Answer:
        raise RuntimeError("the index caught fire")

    monkeypatch.setattr(world.bot.service, "ask", broken)
    caplog.set_level(logging.ERROR, logger="bot.errors")

    handle = await world.command("ask", {"question": KIM_QUESTION})
    reply = await world.fake.wait_until(
        lambda: next((m for m in handle.messages if not m.loading and not m.deleted), None), 10
    )

    assert reply.ephemeral
    assert reply.content.startswith("Sorry, something went wrong on my side.")
    assert "fire" not in reply.content
    assert not any(m.embeds or (not m.ephemeral and not m.deleted) for m in handle.messages)
    failure = next(r for r in caplog.records if r.name == "bot.errors")
    assert "/ask" in failure.getMessage() and failure.exc_info is not None
    assert "the index caught fire" in caplog.text
    world.fake.assert_no_violations()


async def test_a_second_ask_within_the_cooldown_is_refused_privately(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    async with make_world(bot_settings(quiet_settings, ask_cooldown=5.0)) as world:
        await world.ask(KIM_QUESTION)
        again = await world.ask("How long is the journey from Pyongyang?")

        assert again.ephemeral and again.original is not None
        assert re.fullmatch(r"You're going a bit fast: try /ask again in [1-5] s\.", again.original.content)
        assert not again.original.embeds
        other = await world.ask(KIM_QUESTION, user=world.member)  # cooldowns are per person
        assert other.original is not None and other.original.embeds
        world.fake.assert_no_violations()


async def test_a_500_character_question_stays_within_every_limit(world: World) -> None:
    question = ("How fast does the heavily armored green and gold train travel " * 9)[:499] + "?"

    handle = await world.ask(question)

    embed = embed_of(handle.original)
    assert len(embed["title"]) <= 256 and embed["title"].endswith("…")
    world.fake.assert_no_violations()


async def test_an_article_with_a_2000_character_sentence_is_quoted_within_limits(world: World) -> None:
    sentence = "The funicular of Zellbrück climbs " + " and ".join(
        f"past terrace {i} where the vineyard keepers grow riesling" for i in range(60)
    )
    sentence = sentence[:1990] + " at 12 km/h."
    title = "The Zellbrück funicular " + "and its very long history " * 10
    added = await world.add_text(sentence + "\n\nIt was built in 1891.", title=title[:200])
    assert added.original is not None and added.original.content.startswith("Added")

    handle = await world.ask("How fast does the funicular of Zellbrück climb?")

    embed = embed_of(handle.original)
    assert "funicular" in embed["description"].lower()
    assert all(len(f["value"]) <= 1024 for f in embed["fields"])
    world.fake.assert_no_violations()
