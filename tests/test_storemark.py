"""The change token is read again only when the embedded store's files changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import retrieval.store
import retrieval.storemark
from retrieval.aio import AsyncCitebot
from retrieval.models import SourceDocument
from retrieval.records import AnswerRecord
from retrieval.service import CitebotService
from retrieval.storemark import QUIET_NS, Marks, store_mark

QUIET_S = QUIET_NS / 1e9 + 0.05


def _doc(title: str, text: str) -> SourceDocument:
    return SourceDocument(text=text, title=title, source="t")


def test_no_mark_without_the_database_file(tmp_path: Path) -> None:
    assert store_mark(None) is None
    assert store_mark(tmp_path / "chroma.sqlite3") is None


def test_no_mark_for_a_file_changed_just_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "chroma.sqlite3"
    db.write_bytes(b"x")
    changed = max(db.stat().st_mtime_ns, db.stat().st_ctime_ns)
    for after, trusted in ((0, False), (QUIET_NS - 1, False), (QUIET_NS + 1, True), (10**10, True)):
        # The clock as seen by store_mark (the machine may stall between the write and the check).
        monkeypatch.setattr(retrieval.storemark, "time", SimpleNamespace(time_ns=lambda a=after: changed + a))
        assert (store_mark(db) is not None) is trusted, after


def test_the_mark_changes_with_the_database_or_its_log(tmp_path: Path) -> None:
    db = tmp_path / "chroma.sqlite3"
    db.write_bytes(b"x")
    time.sleep(QUIET_S)
    first = store_mark(db)
    db.write_bytes(b"y")  # same size
    time.sleep(QUIET_S)
    second = store_mark(db)
    (tmp_path / "chroma.sqlite3-wal").write_bytes(b"log")
    time.sleep(QUIET_S)
    third = store_mark(db)
    assert None not in (first, second, third)
    assert len({first, second, third}) == 3


def _count_token_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = retrieval.store._chroma_call

    def call(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        if what == "reading the state":
            reads.append(what)
        return real(what, func, *args, **kwargs)

    monkeypatch.setattr(retrieval.store, "_chroma_call", call)
    return reads


def test_an_unchanged_store_is_not_read_again_and_a_write_is_seen(
    two_services: tuple[CitebotService, CitebotService], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = two_services
    writer.add_document(_doc("otters", "Sea otters hold hands while they sleep."))
    reader.list_articles()
    time.sleep(QUIET_S)
    reads = _count_token_reads(monkeypatch)
    for _ in range(3):
        assert {a.title for a in reader.list_articles()} == {"otters"}
    assert (
        len(reads) <= 1
    )  # a read records the quiet files' mark (if no earlier one did); the others trust it
    writer.add_document(_doc("moles", "Star-nosed moles find food with twenty-two tentacles."))
    assert {a.title for a in reader.list_articles()} == {"otters", "moles"}
    time.sleep(QUIET_S)
    writer.remove(next(a.id for a in writer.list_articles() if a.title == "otters"))
    assert {a.title for a in reader.list_articles()} == {"moles"}


def test_the_bots_own_answer_records_do_not_make_the_next_ask_read_the_token(
    two_services: tuple[CitebotService, CitebotService], monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_service, other = two_services
    bot_service.add_document(_doc("otters", "Sea otters hold hands while they sleep."))
    reads = _count_token_reads(monkeypatch)

    async def asks() -> list[int]:
        bot = AsyncCitebot(bot_service)
        per_ask = []
        for n in range(5):
            reads.clear()
            answer = await bot.ask("Why do otters hold hands?", bot_service.settings.kb, use_llm=False)
            per_ask.append(len(reads))
            # As the bot does after every answer: a record in the same database file.
            await bot.save_answer(f"a{n}", AnswerRecord.of(answer, 1, 2, None, channel_id=3))
            await bot.settled()
        other.add_document(_doc("moles", "Star-nosed moles find food with twenty-two tentacles."))
        reads.clear()
        answer = await bot.ask("What do moles find food with?", bot_service.settings.kb, use_llm=False)
        per_ask.append(len(reads))
        assert {c.article_id for c in answer.citations} & {
            a.id for a in other.list_articles() if a.title == "moles"
        }
        return per_ask

    per_ask = asyncio.run(asks())
    assert per_ask[1:5] == [0, 0, 0, 0]  # the token taken again after each record write is trusted
    assert per_ask[5] >= 1  # another process's write is still seen at once


def test_a_retake_reads_only_the_tokens_asked_since_the_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "chroma.sqlite3"
    db.write_bytes(b"x")
    later = SimpleNamespace(time_ns=lambda: time.time_ns() + 10**10)  # every change long quiet
    monkeypatch.setattr(retrieval.storemark, "time", later)
    reads = {"asked": 0, "idle": 0}

    def reader(name: str) -> Callable[[], str]:
        def read() -> str:
            reads[name] += 1
            return f"{name}{reads[name]}"

        return read

    marks = Marks()
    asked, _idle = marks.watch(db, reader("asked")), marks.watch(db, reader("idle"))
    assert asked.get() == "asked1"
    db.write_bytes(b"yy")  # this process's own write
    marks.retake()
    assert reads == {"asked": 2, "idle": 0}
    assert asked.get() == "asked2" and reads["asked"] == 2  # trusted: not read at the ask
    marks.retake()  # nothing changed since
    assert reads == {"asked": 2, "idle": 0}
