"""Retention: records are found by server, person and age; old ones purged, a person's forgotten."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from retrieval.aio import AsyncCitebot
from retrieval.compose import build_async
from retrieval.records import AT, AnswerRecord, FeedbackRecord, Records, Retention, ThreadRecord
from retrieval.retention import DAY, Purger
from retrieval.service import CitebotService
from tests.clocks import ManualClock

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
G1, G2 = 111_111_111_111_111_111, 222_222_222_222_222_222
ANN, BOB = 1_000_000_000_000_000_001, 1_000_000_000_000_000_002


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat(timespec="seconds")


def answer(guild: int, user: int, days: float, question: str = "When does the ferry leave?") -> AnswerRecord:
    return AnswerRecord(guild, user, question, None, "At noon. [1]", False, ("a1",), 1, at=ago(days))


def vote(answer_id: str, guild: int, user: int, days: float) -> FeedbackRecord:
    return FeedbackRecord(
        answer_id, "down", user, guild, "When does the ferry leave?", "At noon.", ("a1",), at=ago(days)
    )


pytestmark = pytest.mark.chroma_server  # also run against a Chroma server (make test-server)


@pytest.fixture
def records(fake_service: CitebotService) -> Iterator[Records]:
    yield Records(fake_service.store)
    for kind in ("guilds", "answers", "feedback", "threads"):  # a shared server keeps collections
        fake_service.store._client.delete_collection(f"citebot-records-{kind}")


def test_records_carry_the_server_person_and_time_they_are_found_by(records: Records) -> None:
    records.answers.put("a" * 12, answer(G1, ANN, 3))
    records.feedback.put(FeedbackRecord.key_for("a" * 12, BOB), vote("a" * 12, G1, BOB, 2))
    records.threads.put("77", ThreadRecord(G1, 77, asker_id=ANN, at=ago(1)))
    meta = records.answers._raw._col.get(ids=["a" * 12], include=["metadatas"])["metadatas"][0]
    assert meta == {"guild_id": G1, "user_id": ANN, AT: int((NOW - timedelta(days=3)).timestamp())}
    fb = records.feedback._raw._col.get(include=["metadatas"])["metadatas"][0]
    assert fb["user_id"] == BOB and fb["guild_id"] == G1
    assert records.threads._raw._col.get(include=["metadatas"])["metadatas"][0]["user_id"] == ANN
    assert records.answers.get("a" * 12) == answer(G1, ANN, 3)


def test_purge_deletes_records_older_than_the_cutoff_and_keeps_the_rest(records: Records) -> None:
    records.answers.put("old000000000", answer(G1, ANN, 100))
    records.answers.put("new000000000", answer(G1, ANN, 10))
    records.feedback.put("old:1", vote("old000000000", G1, BOB, 95))
    records.feedback.put("new:1", vote("new000000000", G1, BOB, 5))
    records.threads.put("1", ThreadRecord(G1, 1, asker_id=ANN, at=ago(91)))
    records.threads.put("2", ThreadRecord(G1, 2, asker_id=ANN, at=ago(89)))
    records.guilds.put(str(G1), {"answer_style": "full"})
    deleted = Retention(records).purge((NOW - timedelta(days=90)).timestamp())
    assert deleted == 3
    assert records.answers.get("old000000000") is None and records.answers.get("new000000000") is not None
    assert records.feedback.get("old:1") is None and records.feedback.get("new:1") is not None
    assert records.threads.get("1") is None and records.threads.get("2") is not None
    assert records.guilds.get(str(G1)) == {"answer_style": "full"}  # server settings are kept


def test_records_written_before_metadata_are_read_purged_and_forgotten(records: Records) -> None:
    # As stored by an earlier citebot: the JSON document alone.
    records.answers._raw.put("legacy000001", answer(G1, ANN, 200).to_json())
    records.answers._raw.put("legacy000002", answer(G1, ANN, 1).to_json())
    records.answers._raw.put("legacy000003", answer(G1, BOB, 1).to_json())
    assert records.answers.get("legacy000001") == answer(G1, ANN, 200)
    retention = Retention(records)
    assert retention.purge((NOW - timedelta(days=90)).timestamp()) == 1
    assert retention.forget(G1, ANN) == 1
    assert [records.answers.get(f"legacy00000{n}") is None for n in (1, 2, 3)] == [True, True, False]


def test_forget_deletes_one_persons_records_in_one_server_only(records: Records) -> None:
    records.answers.put("ann000000001", answer(G1, ANN, 1))
    records.answers.put("ann000000002", answer(G2, ANN, 1))  # another server
    records.answers.put("bob000000001", answer(G1, BOB, 1))
    records.feedback.put("ann000000001:B", vote("ann000000001", G1, BOB, 1))  # Bob's vote on Ann's answer
    records.feedback.put("bob000000001:A", vote("bob000000001", G1, ANN, 1))  # Ann's vote
    records.feedback.put("bob000000001:B", vote("bob000000001", G1, BOB, 1))
    records.threads.put("5", ThreadRecord(G1, 5, asker_id=ANN, at=ago(1)))
    records.threads.put("6", ThreadRecord(G1, 6, asker_id=BOB, at=ago(1)))
    assert Retention(records).forget(G1, ANN) == 4
    assert records.answers.get("ann000000001") is None
    assert records.feedback.get("bob000000001:A") is None and records.feedback.get("ann000000001:B") is None
    assert records.threads.get("5") is None
    assert records.answers.get("ann000000002") is not None  # other server
    assert records.answers.get("bob000000001") is not None
    assert records.feedback.get("bob000000001:B") is not None and records.threads.get("6") is not None
    assert Retention(records).forget(G1, ANN) == 0


@pytest.mark.asyncio
async def test_the_purger_runs_at_start_and_then_on_schedule(
    fake_service: CitebotService, records: Records
) -> None:
    service: AsyncCitebot = build_async(fake_service)
    await service.save_answer("old000000000", answer(G1, ANN, 89))
    clock = ManualClock(NOW.timestamp())
    purger = Purger(service.purge_records, keep_days=90, clock=clock, every=6 * 3600)
    task = asyncio.create_task(purger.run())
    try:
        async with asyncio.timeout(30):
            while clock.sleeping == 0:  # the first purge is done: nothing was 90 days old
                await asyncio.sleep(0.02)
            assert await service.answer("old000000000") is not None
            clock.advance(DAY + 1)  # a day later the record is 90 days old; the next round deletes it
            while clock.sleeping == 0 or await service.answer("old000000000") is not None:
                await asyncio.sleep(0.02)
        assert clock.slept == [6 * 3600, 6 * 3600]
    finally:
        task.cancel()


@pytest.mark.asyncio
async def test_a_thread_is_kept_while_it_changes(fake_service: CitebotService, records: Records) -> None:
    service: AsyncCitebot = build_async(fake_service)
    today = datetime.now(UTC)
    opened = (today - timedelta(days=100)).isoformat(timespec="seconds")
    await service.save_thread(ThreadRecord(G1, 9, asker_id=ANN, answers=4, at=opened))  # answered again today
    records.threads.put("10", ThreadRecord(G1, 10, asker_id=ANN, at=opened))  # untouched since
    assert Retention(records).purge((today - timedelta(days=90)).timestamp()) == 1
    kept = await service.thread(9)
    assert kept is not None and kept.answers == 4 and await service.thread(10) is None
