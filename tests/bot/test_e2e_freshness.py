"""Fresh sources and short-lived records, end to end on the fake Discord (injected clock, local web)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from config.settings import Settings
from retrieval.retention import DAY
from tests.bot.harness import ANSWER_TIMEOUT, KIM_QUESTION, World, WorldFactory, embed_of, text_of, with_fetch
from tests.clocks import ManualClock
from tests.fakediscord import Message
from tests.localweb import LocalWeb, Page, article_html, local_web

pytestmark = pytest.mark.model

PAGES = {
    "/museum": (
        "City museum",
        "The city museum opens at nine in the morning and closes at five in the evening.",
    ),
    "/library": ("Public library", "The public library lends up to twelve books at a time for three weeks."),
    "/pool": ("Swimming pool", "The swimming pool is heated to twenty-eight degrees all year round."),
    "/cinema": ("Old cinema", "The old cinema shows silent films every Thursday evening at eight."),
}
FETCHED = re.compile(r" · fetched <t:(\d+):R>")


@pytest.fixture
def web() -> Iterator[LocalWeb]:
    with local_web() as server:
        for path, (title, text) in PAGES.items():
            server.pages[path] = Page(article_html(title, text), etag=f'"{path}-1"')
        yield server


def upkeep(settings: Settings, **changes: float) -> Settings:
    local = with_fetch(settings, allow_private_hosts=["127.0.0.1"])
    return local.model_copy(update={"upkeep": local.upkeep.model_copy(update=changes)})


async def add_pages(world: World, web: LocalWeb) -> dict[str, str]:
    ids = {}
    for path in PAGES:
        added = await world.run("add", {"url": web.url(path)})
        assert added.original is not None
        found = re.search(r"`(u[0-9a-f]{11})`", added.original.content)
        assert found is not None, added.original.content
        ids[path] = found[1]
    return ids


async def summary_after(world: World, clock: ManualClock, seconds: float) -> Message:
    """Move the clock and return the refresh summary the bot then posts in #general."""
    await world.fake.wait_until(lambda: clock.sleeping >= 2, ANSWER_TIMEOUT)  # refresh and purge loops
    clock.advance(seconds)
    return await world.fake.wait_for_message(
        channel=world.channel, check=lambda m: m.content.startswith("Article refresh"), timeout=ANSWER_TIMEOUT
    )


async def test_citations_of_url_articles_say_when_they_were_fetched_in_both_styles(
    make_world: WorldFactory, quiet_settings: Settings, web: LocalWeb
) -> None:
    async with make_world(upkeep(quiet_settings)) as world:
        await add_pages(world, web)
        before = datetime.now(UTC).timestamp() - 5
        compact = embed_of((await world.ask("When does the city museum close?")).original)
        field = compact["fields"][0]["value"]
        assert field.startswith("> ") and f"<{web.url('/museum')}> · fetched <t:" in field
        stamp = FETCHED.search(field)
        assert stamp is not None and before <= int(stamp[1]) <= before + 600
        await world.run("citebot settings answer-style", {"style": "full"})
        full = embed_of((await world.ask("When does the city museum close?")).original)
        assert FETCHED.search(full["fields"][0]["value"])
        seed = embed_of((await world.ask(KIM_QUESTION)).original)  # not from a URL: no fetch time
        assert "fetched" not in text_of_fields(seed)
        world.fake.assert_no_violations()


def text_of_fields(embed: dict[str, object]) -> str:
    return "\n".join(str(f["value"]) for f in embed.get("fields") or [])  # type: ignore[attr-defined]


async def test_settings_set_the_refresh_interval_and_log_channel_and_show_how_long_records_are_kept(
    world: World,
) -> None:
    shown = await world.run("citebot settings show")
    assert shown.original is not None
    assert "**Refresh of URL articles:** off" in shown.original.content
    assert "**Records kept:** 90 days" in shown.original.content
    saved = await world.run("citebot settings refresh-interval", {"days": 7})
    assert (
        saved.original is not None and "**Refresh of URL articles:** every 7 days" in saved.original.content
    )
    saved = await world.run("citebot settings log-channel", {"channel": world.channel})
    assert saved.original is not None and f"**Log channel:** <#{world.channel.id}>" in saved.original.content
    off = await world.run("citebot settings refresh-interval", {"days": 0})
    assert off.original is not None and "**Refresh of URL articles:** off" in off.original.content
    config = await world.bot.guild_config(world.guild.id)
    assert (config.refresh_days, config.log_channel_id) == (None, world.channel.id)
    world.fake.assert_no_violations()


async def test_the_scheduled_refresh_posts_one_line_and_flags_a_page_gone_twice(
    make_world: WorldFactory, quiet_settings: Settings, web: LocalWeb
) -> None:
    clock = ManualClock()
    settings = upkeep(quiet_settings, refresh_pause=0.0, refresh_check_every=600.0)
    async with make_world(settings, clock=clock) as world:
        ids = await add_pages(world, web)
        await world.run("citebot settings refresh-interval", {"days": 1})
        await world.run("citebot settings log-channel", {"channel": world.channel})
        title, text = PAGES["/museum"]
        web.pages["/museum"] = Page(article_html(title, text.replace("five", "six")), etag='"m2"')
        web.pages["/pool"] = Page(b"down for maintenance", status=500)
        web.pages["/cinema"] = Page(b"not here", status=404)
        # "/library" is unchanged: it answers 304 to the ETag it sent.

        first = await summary_after(world, clock, DAY + 600)

        assert first.content == (
            f"Article refresh: refreshed 2, changed 1, failed 2 (<{web.url('/pool')}>, <{web.url('/cinema')}>)"
        ) or first.content == (
            f"Article refresh: refreshed 2, changed 1, failed 2 (<{web.url('/cinema')}>, <{web.url('/pool')}>)"
        )
        assert not first.pinging
        answer = await world.ask("When does the city museum close?")
        assert "six in the evening" in embed_of(answer.original)["description"]
        pool = await world.ask("How warm is the swimming pool?")  # the failed fetch kept the old version
        assert "twenty-eight degrees" in embed_of(pool.original)["description"]

        second = await summary_after(world, clock, DAY)

        assert f"flagged in /sources: <{web.url('/cinema')}>" in second.content
        sources = await world.run("sources")
        listed = text_of(sources.original)
        assert ids["/cinema"] in listed and "**gone**" in listed  # flagged, not deleted
        world.fake.assert_no_violations()


async def test_forget_me_deletes_the_askers_records_and_says_how_many(world: World) -> None:
    mine = [await world.ask(q, user=world.member) for q in (KIM_QUESTION, "Where did Kim's train go?")]
    theirs = await world.ask(KIM_QUESTION)  # the editor's own question
    ids = [next(i for i in h.original.button_ids() if i.startswith("cb:fb:up:")) for h in (*mine, theirs)]  # type: ignore[union-attr]
    await world.click(mine[0].original, ids[0], user=world.editor)  # the editor's vote on the member's answer
    await world.click(theirs.original, ids[2], user=world.member)  # the member's vote on the editor's answer

    done = await world.run("forget-me", user=world.member)

    assert done.ephemeral and done.original is not None
    assert done.original.content.startswith("Deleted 4 records about you in this server")
    service = world.bot.service
    assert [await service.answer(i.rsplit(":", 1)[1]) for i in ids[:2]] == [None, None]
    assert await service.answer(ids[2].rsplit(":", 1)[1]) is not None
    assert await service.feedback(ids[2].rsplit(":", 1)[1], world.member.id) is None
    again = await world.run("forget-me", user=world.member)
    assert again.original is not None and again.original.content.startswith("citebot had nothing stored")
    world.fake.assert_no_violations()
