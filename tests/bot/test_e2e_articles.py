"""/add, /sources, /remove and /refresh end to end."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from config.settings import Settings
from retrieval import ingest
from tests.bot.harness import (
    ANSWER_TIMEOUT,
    KIM_QUESTION,
    World,
    WorldFactory,
    embed_of,
    modal_inputs,
    with_fetch,
)
from tests.fakediscord import InteractionHandle
from tests.localweb import Page, article_html, local_web

pytestmark = pytest.mark.model

LIGHTHOUSE = (
    "The Skerrivore lighthouse was lit for the first time in 1844. "
    "Its lamp burns colza oil and can be seen 18 nautical miles out to sea. "
    "The keepers row to the rock every fortnight from the harbour of Hynish."
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)


async def add_notes(world: World, count: int) -> list[str]:
    """Add short articles to the main server through the service (fast); return their ids."""
    kb = await world.bot.ensure_guild(world.guild.id)
    ids = []
    for i in range(count):
        text = f"Note {i} records that shelf {i} of the archive holds {i * 3 + 1} boxes of letters."
        doc = ingest.from_text(text, f"Archive note {i:02d}", world.settings.limits)
        ids.append((await world.bot.service.add_document(doc, kb, "test")).article.id)
    return ids


async def article_ids(world: World) -> list[str]:
    """Return the ids of the main server's articles."""
    return [a.id for a in await world.bot.service.list_articles(f"g{world.guild.id}")]


async def confirmation(world: World, verb: str, article_id: str) -> InteractionHandle:
    """Run /remove or /refresh as the editor and return the handle of its confirmation prompt."""
    handle = await world.run(verb, {"article": article_id})
    assert handle.ephemeral and handle.original is not None
    return handle


async def test_editor_adds_pasted_text_and_ask_then_finds_it(world: World) -> None:
    added = await world.add_text(LIGHTHOUSE, title="The Skerrivore lighthouse")

    assert added.ephemeral and added.original is not None
    assert re.fullmatch(
        r"Added \*\*The Skerrivore lighthouse\*\* \(`t[0-9a-f]{11}`\): 1 passage\.", added.original.content
    )
    answer = await world.ask("How far out to sea can the Skerrivore lamp be seen?")
    embed = embed_of(answer.original)
    assert "18 nautical miles" in embed["description"]
    assert embed["fields"][0]["name"] == "[1] The Skerrivore lighthouse"
    world.fake.assert_no_violations()


async def test_a_long_title_option_fills_the_paste_form(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    limits = quiet_settings.limits.model_copy(update={"max_title_chars": 600})
    title = "A lighthouse " * 40  # 520 characters: more than the form held before
    async with make_world(quiet_settings.model_copy(update={"limits": limits})) as world:
        opened = await world.run("add", {"title": title})
        assert opened.modal is not None
        ids = modal_inputs(opened.modal)
        submitted = await world.fake.submit_modal(opened, {ids["Text"]: LIGHTHOUSE})
        added = await submitted.wait_done(ANSWER_TIMEOUT)
        assert added.original is not None and added.original.content.startswith("Added **A lighthouse A")
        world.fake.assert_no_violations()


async def test_add_by_a_non_editor_is_refused_and_stores_nothing(world: World) -> None:
    refused = await world.add_text(LIGHTHOUSE, title="The Skerrivore lighthouse", user=world.member)

    assert refused.ephemeral and refused.original is not None
    assert refused.original.content.startswith("Only people with Manage Server or this server's editor role")
    articles = await world.bot.service.list_articles(f"g{world.guild.id}")
    assert "The Skerrivore lighthouse" not in [a.title for a in articles]
    world.fake.assert_no_violations()


async def test_add_file_reads_a_txt_attachment(world: World) -> None:
    upload = world.fake.add_attachment(
        world.channel, "skerrivore.txt", LIGHTHOUSE.encode(), content_type="text/plain"
    )

    added = await world.run("add", {"file": upload})

    assert added.original is not None and added.original.content.startswith("Added **skerrivore**")
    assert len(world.fake.requests_to("attachment")) == 1
    answer = await world.ask("What oil does the Skerrivore lamp burn?")
    assert "colza" in embed_of(answer.original)["description"]
    world.fake.assert_no_violations()


async def test_attachment_over_the_size_limit_is_refused_before_download(world: World) -> None:
    huge = world.fake.add_attachment(
        world.channel, "huge.txt", b"tiny", content_type="text/plain", size=10_000_001
    )

    refused = await world.run("add", {"file": huge})

    assert refused.ephemeral and refused.original is not None
    assert refused.original.content == "huge.txt is 10,000,001 bytes; the limit is 10,000,000."
    assert world.fake.requests_to("attachment") == []
    world.fake.assert_no_violations()


async def test_png_named_txt_is_refused_with_a_clear_error(world: World) -> None:
    fake_text = world.fake.add_attachment(world.channel, "notes.txt", PNG * 4, content_type="text/plain")

    refused = await world.run("add", {"file": fake_text})

    assert refused.ephemeral and refused.original is not None
    text = refused.original.content
    assert "notes.txt" in text and "PNG" in text
    assert not text.startswith(("Sorry, something went wrong", "Added"))
    world.fake.assert_no_violations()


async def test_add_takes_a_url_or_a_file_not_both(world: World) -> None:
    note = world.fake.add_attachment(world.channel, "notes.txt", LIGHTHOUSE.encode())

    refused = await world.run("add", {"url": "https://example.org/a", "file": note})

    assert refused.ephemeral and refused.original is not None
    assert refused.original.content == "Give a url or a file, not both (or neither, to paste text)."
    world.fake.assert_no_violations()


async def test_add_url_fetches_the_page(make_world: WorldFactory, quiet_settings: Settings) -> None:
    with local_web() as web:
        web.pages["/skerrivore"] = Page(article_html("The Skerrivore lighthouse", LIGHTHOUSE))
        local = with_fetch(quiet_settings, allow_private_hosts=["127.0.0.1"])
        async with make_world(local) as world:
            added = await world.run("add", {"url": web.url("/skerrivore")})

            assert added.original is not None
            assert added.original.content.startswith("Added **The Skerrivore lighthouse** (`u")
            answer = await world.ask("When was the Skerrivore lighthouse first lit?")
            embed = embed_of(answer.original)
            assert "1844" in embed["description"]
            tail = rf"\n<{re.escape(web.url('/skerrivore'))}> · fetched <t:\d+:R>"
            assert re.search(tail + "$", embed["fields"][0]["value"])
            world.fake.assert_no_violations()


async def test_sources_lists_the_articles(world: World) -> None:
    await world.add_text(LIGHTHOUSE, title="The Skerrivore lighthouse")

    listing = await world.run("sources", user=world.member)

    assert listing.ephemeral
    embed = embed_of(listing.original)
    assert embed["title"] == "Articles in this server (2)"
    assert "Kim Jong Un" in embed["description"] and "The Skerrivore lighthouse" in embed["description"]
    assert embed["footer"]["text"] == "Page 1 of 1"
    assert listing.original is not None and listing.original.button_ids() == []
    world.fake.assert_no_violations()


async def test_sources_pages_through_more_than_ten_articles(world: World) -> None:
    await add_notes(world, 11)

    listing = await world.run("sources", user=world.member)
    message = listing.original
    first = embed_of(message)
    assert first["title"] == "Articles in this server (12)" and first["footer"]["text"] == "Page 1 of 2"
    assert first["description"].count(" passage") == 10

    turned = await world.press(message, "Next ▶", user=world.member)

    assert turned.response_type == 7
    second = embed_of(message)
    assert second["footer"]["text"] == "Page 2 of 2"
    assert second["description"].count(" passage") == 2
    back = await world.press(message, "◀ Previous", user=world.member)
    assert back.response_type == 7 and embed_of(message)["footer"]["text"] == "Page 1 of 2"
    world.fake.assert_no_violations()


async def test_remove_autocomplete_offers_at_most_25_articles(world: World) -> None:
    await add_notes(world, 26)

    typed = await world.fake.autocomplete(
        world.guild, world.channel, world.editor, "remove", {"article": ""}, "article"
    )
    await typed.wait_response(ANSWER_TIMEOUT)
    narrowed = await world.fake.autocomplete(
        world.guild, world.channel, world.editor, "remove", {"article": "note 07"}, "article"
    )
    await narrowed.wait_response(ANSWER_TIMEOUT)

    assert typed.choices is not None and len(typed.choices) == 25
    assert all(len(c["name"]) <= 100 for c in typed.choices)
    assert narrowed.choices is not None
    assert [c["name"] for c in narrowed.choices] == [f"Archive note 07 ({narrowed.choices[0]['value']})"]
    world.fake.assert_no_violations()


async def test_remove_autocomplete_is_empty_for_non_editors(world: World) -> None:
    await world.bot.ensure_guild(world.guild.id)

    typed = await world.fake.autocomplete(
        world.guild, world.channel, world.member, "remove", {"article": ""}, "article"
    )
    await typed.wait_response(ANSWER_TIMEOUT)

    assert typed.choices == []
    world.fake.assert_no_violations()


async def test_remove_after_confirm_deletes_the_article(world: World) -> None:
    [note] = await add_notes(world, 1)
    prompt = await confirmation(world, "remove", note)
    assert (
        prompt.original is not None and prompt.original.content == f"Remove **Archive note 00** (`{note}`)?"
    )

    await world.press(prompt.original, "Confirm")
    await world.fake.wait_until(lambda: prompt.original and prompt.original.content.startswith("Removed"))

    assert prompt.original.content == f"Removed **Archive note 00** (`{note}`)."
    assert prompt.original.components == []
    assert note not in await article_ids(world)
    world.fake.assert_no_violations()


async def test_confirm_pressed_by_a_non_editor_is_refused(world: World) -> None:
    [note] = await add_notes(world, 1)
    prompt = await confirmation(world, "remove", note)

    click = await world.press(prompt.original, "Confirm", user=world.member)

    assert click.ephemeral and click.original is not None
    assert click.original.content == "This confirmation belongs to someone else."
    assert note in await article_ids(world)
    world.fake.assert_no_violations()


async def test_confirm_after_losing_editor_rights_is_refused(world: World) -> None:
    [note] = await add_notes(world, 1)
    prompt = await confirmation(world, "remove", note)
    world.editor.role_ids.clear()  # Manage Server taken away while the prompt is open

    click = await world.press(prompt.original, "Confirm")

    assert click.ephemeral and click.original is not None
    assert click.original.content.startswith("Only people with Manage Server")
    assert note in await article_ids(world)
    world.fake.assert_no_violations()


async def test_cancel_keeps_the_article(world: World) -> None:
    [note] = await add_notes(world, 1)
    prompt = await confirmation(world, "remove", note)

    click = await world.press(prompt.original, "Cancel")

    assert click.response_type == 7
    assert prompt.original is not None and prompt.original.content == "Cancelled."
    assert prompt.original.components == []
    assert note in await article_ids(world)
    world.fake.assert_no_violations()


async def test_an_expired_confirmation_loses_its_buttons(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bot's own copy of the module (load_extension executes it afresh).
    confirm_view = world.bot.extensions["bot.exts.articles"].ConfirmView
    monkeypatch.setattr(confirm_view.__init__, "__defaults__", (0.3,))
    kb = await world.bot.ensure_guild(world.guild.id)
    [seed] = await world.bot.service.list_articles(kb)

    prompt = await world.run("remove", {"article": seed.id})
    await world.fake.wait_until(lambda: prompt.original and not prompt.original.components, 5)

    assert prompt.original is not None
    assert prompt.original.content == "This confirmation expired; run the command again."
    world.fake.assert_no_violations()


async def test_remove_of_an_unknown_article_says_so(world: World) -> None:
    refused = await world.run("remove", {"article": "t000000000000"})

    assert refused.ephemeral and refused.original is not None
    assert "no article with id 't000000000000'" in refused.original.content
    world.fake.assert_no_violations()


async def test_refresh_after_the_page_changed_updates_it(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    with local_web() as web:
        web.pages["/skerrivore"] = Page(article_html("The Skerrivore lighthouse", LIGHTHOUSE))
        async with make_world(with_fetch(quiet_settings, allow_private_hosts=["127.0.0.1"])) as world:
            added = await world.run("add", {"url": web.url("/skerrivore")})
            assert added.original is not None
            found = re.search(r"`(u[0-9a-f]{11})`", added.original.content)
            assert found is not None
            article_id = found[1]
            changed = LIGHTHOUSE.replace("18 nautical miles", "23 nautical miles")
            web.pages["/skerrivore"] = Page(article_html("The Skerrivore lighthouse", changed))

            prompt = await confirmation(world, "refresh", article_id)
            await world.press(prompt.original, "Confirm")
            await world.fake.wait_until(
                lambda: (
                    prompt.original is not None
                    and not prompt.original.content.startswith(("Refresh", "Working"))
                ),
                ANSWER_TIMEOUT,
            )

            assert prompt.original is not None
            assert prompt.original.content == (
                f"Updated **The Skerrivore lighthouse** (`{article_id}`): 1 passage."
            )
            answer = await world.ask("How far out to sea can the Skerrivore lamp be seen?")
            assert "23 nautical miles" in embed_of(answer.original)["description"]
            world.fake.assert_no_violations()


async def test_ask_is_answered_while_a_large_file_is_being_added(world: World) -> None:
    await world.bot.ensure_guild(world.guild.id)
    words = ["oak", "ash", "elm", "yew", "fir", "pine", "birch", "alder", "rowan", "hazel", "willow", "lime"]
    text = "\n\n".join(
        f"Ledger entry {i}: the {words[i % 12]} sawmill cut {i * 7} planks in the year {1800 + i % 200}. " * 3
        for i in range(240)
    )
    upload = world.fake.add_attachment(world.channel, "ledger.txt", text.encode(), content_type="text/plain")
    loop = asyncio.get_running_loop()
    finished: dict[str, float] = {}

    async def finish(name: str, handle: InteractionHandle) -> None:
        await handle.wait_done(120)
        finished[name] = loop.time()

    adding = await world.command("add", {"file": upload})
    await world.fake.wait_until(lambda: world.fake.requests_to("attachment"), ANSWER_TIMEOUT)
    started = time.perf_counter()
    asking = await world.command("ask", {"question": KIM_QUESTION}, user=world.member)
    await asyncio.gather(finish("add", adding), finish("ask", asking))

    assert asking.responded_at is not None
    assert asking.responded_at - asking.created_at < world.fake.response_deadline
    assert finished["ask"] < finished["add"], (
        f"the ask waited for the add ({time.perf_counter() - started:.1f} s)"
    )
    assert adding.original is not None and adding.original.content.startswith("Added **ledger**")
    assert embed_of(asking.original)["fields"]
    world.fake.assert_no_violations()
