"""Stats: the series computed from records, and the PNG drawn from exactly those series."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from config.settings import Settings
from retrieval.chart import COLOURS, HEIGHT, WIDTH, draw_elsewhere, figure, render_png
from retrieval.records import AnswerRecord, FeedbackRecord, Records
from retrieval.stats import Stats, compute, from_json, server_stats
from retrieval.store import ChromaStore

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def shown(day: int, kind: str, cited: tuple[str, ...] = ("a1",), guild: int = 5) -> AnswerRecord:
    """An answer asked `day` days before NOW: kind is answered, unsure or abstained."""
    sources = tuple({"article_id": a, "title": f"Article {a}"} for a in cited)
    return AnswerRecord(
        guild_id=guild,
        user_id=1,
        question=f"q{day}{kind}",
        context=None,
        answer="a",
        abstained=kind == "abstained",
        cited=() if kind == "abstained" else cited,
        shown=len(cited),
        sources=() if kind == "abstained" else sources,
        at=(NOW - timedelta(days=day)).isoformat(),
        label="unsure" if kind == "unsure" else "sure",
    )


def vote(day: int, up: bool, reason: str | None = None) -> FeedbackRecord:
    return FeedbackRecord(
        answer_id=f"x{day}{up}",
        vote="up" if up else "down",
        user_id=2,
        guild_id=5,
        question="q",
        answer="a",
        cited=(),
        at=(NOW - timedelta(days=day)).isoformat(),
        reason=reason,
    )


def sample() -> Stats:
    answers = [
        ("1", shown(0, "answered", ("a1", "a2", "a1"))),
        ("2", shown(0, "unsure")),
        ("3", shown(0, "abstained")),
        ("4", shown(2, "answered", ("a2",))),
        ("5", shown(2, "answered", ("a2",))),
        ("6", shown(29, "abstained")),
    ]
    votes = [vote(0, True), vote(2, False, "outdated"), vote(2, False, "outdated"), vote(29, True)]
    return compute(answers, votes, 30, NOW.date())


def test_series_count_each_day_by_how_it_was_answered() -> None:
    stats = sample()
    assert (
        len(stats.days) == 30 and stats.days[-1] == date(2026, 11, 30) and stats.days[0] == date(2026, 11, 1)
    )
    assert (stats.answered[-1], stats.unsure[-1], stats.abstained[-1]) == (1, 1, 1)
    assert (stats.answered[-3], stats.abstained[0]) == (2, 1)
    assert stats.questions[-1] == 3 and sum(stats.questions) == 6
    assert (stats.up[-1], stats.down[-3], stats.up[0]) == (1, 2, 1)
    assert stats.cited == (("Article a2", 3), ("Article a1", 2))  # once per answer, most cited first
    assert stats.reasons == (("outdated", 2),)
    assert stats.totals() == {"questions": 6, "answered": 3, "unsure": 1, "abstained": 2, "up": 2, "down": 2}


def test_server_stats_reads_one_server_and_its_last_30_days(settings: Settings) -> None:
    records = Records(ChromaStore.from_settings(settings))
    for n, record in enumerate([shown(0, "answered"), shown(29, "unsure"), shown(30, "abstained")]):
        records.answers.put(f"k{n}", record)
    records.answers.put("elsewhere", shown(0, "answered", guild=6))
    stats = server_stats(records, 5, 30, now=NOW)
    assert stats.totals()["questions"] == 2 and stats.unsure[0] == 1 and stats.answered[-1] == 1


def test_the_chart_draws_exactly_the_series() -> None:
    stats = sample()
    fig = figure(stats, "Test Guild")
    per_day = fig.subfigs[0].axes[0]
    for key in ("answered", "unsure", "abstained"):
        bars = [p for p in per_day.patches if p.get_gid() == key]
        assert [round(b.get_height()) for b in bars] == list(getattr(stats, key)), key
    votes = fig.subfigs[1].axes[1]
    assert [round(p.get_height()) for p in votes.patches if p.get_gid() == "down"] == list(stats.down)
    cited = fig.subfigs[2].axes[0]
    assert [round(p.get_width()) for p in cited.patches] == [3, 2]  # most cited first (on top)
    assert [t.get_text() for t in cited.get_yticklabels()] == ["Article a2", "Article a1"]
    assert "6 questions" in fig.get_suptitle()


def _pixels(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def _has_colour(image: Image.Image, hex_colour: str) -> bool:
    """Tell whether a colour covers more than its legend swatch (about 280 pixels): a drawn series."""
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return any(count > 1000 and colour == rgb for count, colour in image.getcolors(WIDTH * HEIGHT) or [])


def test_the_png_opens_at_its_size_and_shows_each_series_colour() -> None:
    image = _pixels(render_png(sample(), "Test Guild"))
    assert image.size == (WIDTH, HEIGHT)
    assert len(image.getcolors(WIDTH * HEIGHT) or []) > 50  # not blank
    for key in ("answered", "unsure", "abstained", "up", "down"):
        assert _has_colour(image, COLOURS[key]), key


def test_an_empty_server_still_gets_a_chart_without_series_colours() -> None:
    empty = compute([], [], 30, NOW.date())
    image = _pixels(render_png(empty))
    assert image.size == (WIDTH, HEIGHT)
    for key in COLOURS:
        assert not _has_colour(image, COLOURS[key]), key


def test_stats_survive_their_json_form() -> None:
    stats = sample()
    assert from_json(stats.to_json()) == stats


@pytest.mark.asyncio
async def test_the_bot_draws_in_a_child_process_the_same_png() -> None:
    png = await draw_elsewhere(sample(), "Test Guild")
    image = _pixels(png)
    assert image.size == (WIDTH, HEIGHT)
    assert _has_colour(image, COLOURS["down"])
