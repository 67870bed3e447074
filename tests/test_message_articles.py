"""A chat message as an article: its text, author and date, cited by its link."""

from __future__ import annotations

import pytest

from config.settings import LimitSettings
from retrieval.errors import InvalidInput
from retrieval.ingest import from_message, is_message_link

LINK = "https://discord.com/channels/111/222/333"
REPLY = "Restart the router, then hold the reset button for ten seconds until the light blinks."


def test_a_message_becomes_an_article_cited_by_its_link() -> None:
    doc = from_message(
        REPLY, author="hal", date="2026-11-30T08:00:00+00:00", link=LINK, where="help", limits=LimitSettings()
    )

    assert doc.text == REPLY and doc.url == LINK
    assert doc.author == "hal" and doc.date == "2026-11-30T08:00:00+00:00"
    assert doc.title == "hal in #help: Restart the router, then hold the reset button for ten…"
    assert doc.source == "message by hal in #help"


def test_a_too_short_message_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"too short to be an article \(6 characters; at least 20\)"):
        from_message("thanks", author="hal", date=None, link=LINK, where="help", limits=LimitSettings())


def test_only_a_message_link_can_cite_a_message() -> None:
    with pytest.raises(InvalidInput, match="not a message link"):
        from_message(
            REPLY, author="hal", date=None, link="https://example.com/a", where="help", limits=LimitSettings()
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (LINK, True),
        ("https://ptb.discord.com/channels/1/2/3", True),
        ("https://discordapp.com/channels/1/2/3", True),
        ("https://discord.com/channels/1/2", False),
        ("https://discord.com/channels/@me/2/3", False),
        ("https://evil.example/channels/1/2/3", False),
        ("http://discord.com/channels/1/2/3", False),
        (None, False),
    ],
)
def test_message_links_are_recognised(url: str | None, expected: bool) -> None:
    assert is_message_link(url) is expected
