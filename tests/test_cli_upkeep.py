"""`citebot gaps` and `citebot stats` read what the bot recorded for one server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from cli.main import main
from config.loader import load_settings
from retrieval import compose
from retrieval.chart import HEIGHT, WIDTH
from retrieval.records import AnswerRecord, FeedbackRecord, Records
from retrieval.store import ChromaStore

GUILD = 112233445566778899


def record(question: str, days_ago: float, abstained: bool = True) -> AnswerRecord:
    return AnswerRecord(
        guild_id=GUILD,
        user_id=1,
        question=question,
        context=None,
        answer="",
        abstained=abstained,
        cited=() if abstained else ("a1",),
        shown=0 if abstained else 1,
        sources=() if abstained else ({"article_id": "a1", "title": "House rules"},),
        at=(datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="seconds"),
        label=None if abstained else "sure",
    )


@pytest.fixture
def recorded() -> None:
    """What the bot would have stored for one server: two abstentions, an answer with a reasoned 👎."""
    records = Records(ChromaStore.from_settings(load_settings()))
    records.answers.put("a" * 12, record("How do I reset my password?", 1))
    records.answers.put("b" * 12, record("How do I reset my password?", 2))
    records.answers.put("c" * 12, record("Where are the house rules?", 3, abstained=False))
    records.answers.put("d" * 12, record("Is there a dark mode?", 40))  # outside 30 days
    vote = FeedbackRecord(
        answer_id="c" * 12,
        vote="down",
        user_id=9,
        guild_id=GUILD,
        question="Where are the house rules?",
        answer="",
        cited=("a1",),
        reason="outdated",
    )
    records.feedback.put(vote.key, vote)


@pytest.mark.model
@pytest.mark.usefixtures("recorded")
def test_gaps_json_groups_a_servers_unanswered_questions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gaps", "--kb", f"g{GUILD}", "--json"]) == 0
    gaps = json.loads(capsys.readouterr().out)
    assert [(g["count"], g["example"]) for g in gaps] == [
        (2, "How do I reset my password?"),
        (1, "Where are the house rules?"),
    ]
    assert gaps[1]["why"] == {"thumbs_down": 1} and gaps[1]["reasons"] == {"outdated": 1}
    assert main(["gaps", "--kb", f"g{GUILD}", "--days", "90"]) == 0
    assert "Is there a dark mode?" in capsys.readouterr().out


@pytest.mark.usefixtures("recorded")
def test_stats_writes_the_png_and_prints_the_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stats.png"
    assert main(["stats", "--kb", f"g{GUILD}", "--out", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["totals"] == {"questions": 3, "answered": 1, "unsure": 0, "abstained": 2, "up": 0, "down": 1}
    assert stats["cited"] == [{"title": "House rules", "answers": 1}]
    with Image.open(out) as image:
        assert image.size == (WIDTH, HEIGHT)
    assert not list(tmp_path.glob("*.part"))


def test_a_knowledge_base_of_no_server_is_refused_before_anything_loads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the store or model was opened before the arguments were checked")

    monkeypatch.setattr(compose, "build_service", refuse)
    assert main(["gaps", "--kb", "default"]) == 1
    assert "g<server id>" in capsys.readouterr().err
    assert main(["stats", "--kb", "g1", "--out", str(tmp_path / "x.txt")]) == 1
    assert "--out must name a .png" in capsys.readouterr().err


@pytest.mark.parametrize("days", ["3", "91", "many"])
def test_stats_days_out_of_range_is_a_short_usage_error(
    days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["stats", "--kb", "g1", "--out", "chart.png", "--days", days])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "7 to 90" in error or "whole number" in error
    assert len(error) < 120
