"""What ingest keeps of a source's name: the URL as written (less tracking), printable titles."""

from __future__ import annotations

import pytest

from retrieval.adding import article_id_for
from retrieval.ingest import canonical_url, printable, url_key
from retrieval.models import SourceDocument


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("HTTP://Example.ORG:80/a?b=1#top", "http://example.org/a?b=1"),
        ("https://example.org:8443", "https://example.org:8443/"),
        ("https://example.org/p?utm_source=x&id=7&fbclid=abc", "https://example.org/p?id=7"),
        (
            "https://example.org/p?print&id=&q=a%20b+c&utm_medium=m",
            "https://example.org/p?print&id=&q=a%20b+c",
        ),
        (
            "https://example.org/index.php?title=Main_Page&action",
            "https://example.org/index.php?title=Main_Page&action",
        ),
        ("https://example.org/watch?v=abc&t=", "https://example.org/watch?v=abc&t="),
        ("https://example.org/p?UTM%5FSOURCE=x&&a=1", "https://example.org/p?a=1"),
        (
            "https://example.org/a b?q=caf\u00e9",
            "https://example.org/a%20b?q=caf%C3%A9",
        ),  # a link holds neither
    ],
)
def test_canonical_url_drops_tracking_and_keeps_the_rest_as_written(given: str, kept: str) -> None:
    assert canonical_url(given) == kept


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("bad\udcffname", "bad\ufffdname"),  # a file name's byte that is not UTF-8
        ("x\ud800y", "x?y"),  # a lone surrogate from elsewhere
        ("Esc\x1b[2Jtitle", "Esc[2Jtitle"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("a\tb\nc\r\nd", "a b c d"),
        ("\x85\x9b", ""),
        ("👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👧 family"),  # joiners inside emoji stay
        (None, ""),
    ],
)
def test_printable_makes_one_line_fit_to_show(given: str | None, shown: str) -> None:
    assert printable(given) == shown


@pytest.mark.parametrize(
    "spellings",
    [
        ["https://example.org/p?q=a%20b", "https://example.org/p?q=a+b", "https://example.org/p?q=a b"],
        ["https://example.org/p?q=caf%C3%A9", "https://example.org/p?q=caf\u00e9"],
        [
            "https://example.org/p?from=https://news.example/x,y",
            "https://example.org/p?from=https%3A%2F%2Fnews.example%2Fx%2Cy",
        ],
    ],
)
def test_spellings_of_one_url_name_one_article(spellings: list[str]) -> None:
    ids = {article_id_for(SourceDocument("t", "t", "u", url=canonical_url(u))) for u in spellings}
    assert len(ids) == 1


def test_a_url_without_blank_parameters_keeps_the_article_id_it_had() -> None:
    # Before URLs were kept as written, the id hashed this form of them; stored articles keep it.
    url = "https://example.org/p.html?from=https://news.example/x,y&utm_source=feed"
    assert url_key(canonical_url(url)) == "https://example.org/p.html?from=https%3A%2F%2Fnews.example%2Fx%2Cy"
    assert url_key(canonical_url("https://example.org/p?print&id=")) == "https://example.org/p?print=&id="
