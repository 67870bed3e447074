"""Records listed by server and time: the index metadata, and records stored before it existed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from retrieval.records import AT, AnswerRecord, FeedbackRecord, Records, epoch, guild_of_kb
from retrieval.store import ChromaStore

GUILD = 1_234_567_890_123_456_789  # a real-sized snowflake (over 2**53)
OTHER = 987_654_321_098_765_432


def answer(question: str, at: datetime, guild: int = GUILD, **fields: object) -> AnswerRecord:
    base: dict[str, object] = {
        "guild_id": guild,
        "user_id": 42,
        "question": question,
        "context": None,
        "answer": "",
        "abstained": True,
        "cited": (),
        "shown": 0,
        "at": at.isoformat(timespec="seconds"),
    }
    return AnswerRecord(**(base | fields))  # type: ignore[arg-type]


@pytest.fixture
def records(settings: Settings) -> Iterator[Records]:
    yield Records(ChromaStore.from_settings(settings))


def test_answers_since_lists_one_server_from_a_time_oldest_first(records: Records) -> None:
    now = datetime.now(UTC)
    records.answers.put("a-old", answer("old", now - timedelta(days=40)))
    records.answers.put("a-new", answer("new", now - timedelta(days=1)))
    records.answers.put("a-mid", answer("mid", now - timedelta(days=10)))
    records.answers.put("a-other", answer("elsewhere", now, guild=OTHER))
    found = records.answers_since(GUILD, now - timedelta(days=30))
    assert [key for key, _ in found] == ["a-mid", "a-new"]
    assert [r.question for _, r in found] == ["mid", "new"]


def test_feedback_since_lists_votes_with_their_reason(records: Records) -> None:
    now = datetime.now(UTC)
    vote = FeedbackRecord(
        answer_id="a1",
        vote="down",
        user_id=7,
        guild_id=GUILD,
        question="q",
        answer="a",
        cited=(),
        reason="outdated",
    )
    records.feedback.put(vote.key, vote)
    assert records.feedback_since(GUILD, now - timedelta(minutes=5)) == [vote]
    assert records.feedback_since(OTHER, now - timedelta(minutes=5)) == []


def test_records_stored_before_the_index_are_indexed_and_listed(records: Records) -> None:
    now = datetime.now(UTC)
    old = answer("stored by an earlier citebot", now - timedelta(days=2))
    # Written as earlier versions did: the JSON document alone, no metadata.
    records.answers._raw.put("legacy", old.to_json())
    records.answers.put("fresh", answer("new one", now))
    found = records.answers_since(GUILD, now - timedelta(days=7))
    assert [key for key, _ in found] == ["legacy", "fresh"]
    assert found[0][1] == old
    meta = next(m for k, _, m in records.answers._raw.find() if k == "legacy")
    assert meta == {"guild_id": GUILD, "user_id": 42, AT: epoch(old.at)}
    assert records.answers.get("legacy") == old  # still readable by key


def test_index_keeps_ids_exact_and_times_in_seconds() -> None:
    record = answer("q", datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    assert record.index() == {"guild_id": GUILD, "user_id": 42, AT: 1796025600}
    assert json.loads(json.dumps(record.to_json()))["guild_id"] == GUILD


def test_guild_of_kb_reads_server_knowledge_bases_only() -> None:
    assert guild_of_kb("g1234") == 1234
    assert guild_of_kb("default") is None
    assert guild_of_kb("g12x") is None
