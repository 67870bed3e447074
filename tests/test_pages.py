"""Whole articles from web pages: bodies split by ads and asides, titles without site names."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from retrieval.extract import extract
from retrieval.pages import clean_title
from retrieval.service import CitebotService
from retrieval.store import ChromaStore
from tests.fakes import HashEmbedder
from tests.localweb import Page, local_web

PAGES = Path(__file__).with_name("data") / "pages"
# page: (headline, first body words, last body words, text that is not the article's)
FIXTURES = {
    "split_by_ad": (
        "The Quiet Return of the Night Train",
        "Sleeper trains were written off",
        "until the end of the decade.",
        [
            "Advertisement",
            "Save 40%",
            "Sign up",
            "Related Stories",
            "Travel Pillows",
            "Condé Nast",
            "Photograph",
        ],
    ),
    "split_by_related": (
        "Cities Should Stop Building Parking Garages",
        "Every few years our city council",
        "a concrete block that stands half empty.",
        ["More from Opinion", "bridge toll", "swimming beach", "librarians", "Harbor Ledger"],
    ),
    "headings_and_models": (
        "Five Electric Wagons Worth the Wait",
        "Estate cars have been squeezed",
        "in 28 minutes on a fast charger.",
        ["Motor Notes"],
    ),
}


def extracted(name: str) -> tuple[str, str | None]:
    got = extract(
        (PAGES / f"{name}.html").read_bytes(), content_type="text/html", url=f"http://127.0.0.1/{name}"
    )
    return got.text, got.title


@pytest.mark.parametrize("name", FIXTURES)
def test_the_whole_body_is_kept_from_its_first_words_to_its_last(name: str) -> None:
    text, _ = extracted(name)
    _, first, last, _ = FIXTURES[name]
    assert 0 <= text.find(first) <= len(FIXTURES[name][0]) + 2  # after the headline at most
    assert text.endswith(last)


@pytest.mark.parametrize("name", FIXTURES)
def test_ads_newsletters_related_links_and_footers_are_left_out(name: str) -> None:
    text, _ = extracted(name)
    for noise in FIXTURES[name][3]:
        assert noise not in text


@pytest.mark.parametrize("name", FIXTURES)
def test_the_title_is_the_headline_alone(name: str) -> None:
    assert extracted(name)[1] == FIXTURES[name][0]


@pytest.mark.parametrize(
    ("title", "site", "h1", "expected"),
    [
        ("Night trains return | WIRED", "WIRED", None, "Night trains return"),
        ("Night trains return - The Daily Post", "The Daily Post", None, "Night trains return"),
        ("Night trains return — Rail Weekly", "Rail Weekly", None, "Night trains return"),
        ("Night trains return – railweekly.com", "railweekly.com", None, "Night trains return"),
        ("Rail Weekly: Night trains return", "Rail Weekly", None, "Night trains return"),
        ("WIRED | Night trains return", "WIRED", None, "Night trains return"),
        ("A museum opens in Milan | Inexhibit", None, None, "A museum opens in Milan"),
        ("Opinion | Cities should stop building garages", None, None, "Cities should stop building garages"),
        ("Analysis: Night trains return | Site", "Site", None, "Night trains return"),
        ("Anything the CMS says | WIRED", "WIRED", "Night trains return", "Anything the CMS says"),
        ("Night trains return, again | WIRED", "WIRED", "Night trains return", "Night trains return"),
        ("Spider-Man - a story of trains", None, None, "Spider-Man - a story of trains"),
        ("Kim: the train years", None, None, "Kim: the train years"),
    ],
)
def test_titles_drop_the_site_name_and_section_label(
    title: str, site: str | None, h1: str | None, expected: str
) -> None:
    assert clean_title(title, site, h1) == expected


def test_a_page_served_locally_is_added_by_url_whole_and_titled(settings: Settings) -> None:
    local = settings.model_copy(
        update={"fetch": settings.fetch.model_copy(update={"allow_private_hosts": ["127.0.0.1"]})}
    )
    service = CitebotService(local, HashEmbedder(), ChromaStore.from_settings(local))
    with local_web() as web:
        web.pages["/night-trains"] = Page((PAGES / "split_by_ad.html").read_bytes())
        added = service.add_source(web.url("/night-trains"))
    assert added.article.title == "The Quiet Return of the Night Train"
    assert added.article.chars >= 1700  # both halves of the body, around the ad and the newsletter box
    found = service.ask("When will the night trains ordered now be delivered?")
    assert "end of the decade" in found.answer
