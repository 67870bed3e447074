"""Adding and refreshing URL articles through the CLI, against a local web server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cli.main import main
from tests.localweb import LocalWeb, Page, article_html, local_web

pytestmark = pytest.mark.model

FERRY = (
    "The harbour ferry crosses the bay every twenty minutes during the day.\n\n"
    "At night the ferry runs once an hour, and the last boat leaves at midnight. "
    "Tickets cost four dollars for adults."
)


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalWeb]:
    # Only these tests allow fetching from loopback; the refusal tests keep the default.
    monkeypatch.setenv("CITEBOT_FETCH__ALLOW_PRIVATE_HOSTS", '["127.0.0.1"]')
    monkeypatch.setenv("CITEBOT_FETCH__TIMEOUT", "1.5")
    with local_web() as server:
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_url_is_added_with_its_title_and_answers_questions(
    web: LocalWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    web.pages["/ferry"] = Page(article_html("Harbour ferry timetable", FERRY))
    code, out, _ = run(capsys, "add", web.url("/ferry"))
    assert code == 0
    assert "Harbour ferry timetable" in out
    code, out, _ = run(capsys, "ask", "How often does the ferry run at night?", "--json")
    answer = json.loads(out)
    assert "once an hour" in answer["answer"]
    assert answer["citations"][0]["url"] == web.url("/ferry")


def test_refresh_replaces_a_changed_page(web: LocalWeb, capsys: pytest.CaptureFixture[str]) -> None:
    web.pages["/ferry"] = Page(article_html("Ferry", FERRY))
    _, out, _ = run(capsys, "add", web.url("/ferry"))
    article_id = out.split("\t")[0]
    code, out, _ = run(capsys, "refresh", article_id)
    assert code == 0
    assert out.strip().endswith("unchanged")
    web.pages["/ferry"] = Page(article_html("Ferry", FERRY.replace("four dollars", "six dollars")))
    code, out, _ = run(capsys, "refresh", article_id)
    assert out.strip().endswith("updated")
    _, out, _ = run(capsys, "ask", "How much does a ferry ticket cost?", "--json")
    answer = json.loads(out)
    assert "six dollars" in answer["answer"]
    assert all("four dollars" not in c["passage"] for c in answer["citations"])
    _, out, _ = run(capsys, "list", "--json")
    assert len(json.loads(out)) == 1


def test_adding_the_same_url_twice_is_already_present(
    web: LocalWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    web.pages["/ferry"] = Page(article_html("Ferry", FERRY))
    run(capsys, "add", web.url("/ferry"))
    code, out, _ = run(capsys, "add", web.url("/ferry") + "#section")
    assert code == 0
    assert out.strip().endswith("already present")


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        (Page(b"<p>gone</p>", status=404), "404"),
        (Page(b"\x89PNG\r\n\x1a\n", content_type="image/png"), "image/png"),
        (Page(b"<p>slow</p>", delay=3.0), "timed out"),
        (Page(b"<p>" + b"x" * 6_000_000 + b"</p>"), "limit"),
    ],
    ids=["404", "not-text", "timeout", "too-large"],
)
def test_bad_urls_fail_with_a_message_and_store_nothing(
    web: LocalWeb, capsys: pytest.CaptureFixture[str], page: Page, problem: str
) -> None:
    web.pages["/bad"] = page
    code, _, err = run(capsys, "add", web.url("/bad"))
    assert code == 1
    assert problem in err
    _, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_loopback_urls_are_refused_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    with local_web() as server:
        server.pages["/x"] = Page(article_html("X", FERRY))
        code, _, err = run(capsys, "add", server.url("/x"))
    assert code == 1
    assert "127.0.0.1" in err or "private" in err or "loopback" in err


def test_refreshing_a_pasted_article_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(FERRY))
    _, out, _ = run(capsys, "add", "-", "--title", "Ferry")
    code, _, err = run(capsys, "refresh", out.split("\t")[0])
    assert code == 1
    assert "not added from a URL" in err
