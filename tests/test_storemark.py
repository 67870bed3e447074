"""The change token is read again only when the embedded store's files changed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import retrieval.store
from config.loader import load_settings
from retrieval.compose import build_service
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from retrieval.storemark import QUIET_NS, store_mark
from tests.fakes import HashEmbedder

QUIET_S = QUIET_NS / 1e9 + 0.05


def _doc(title: str, text: str) -> SourceDocument:
    return SourceDocument(text=text, title=title, source="t")


def test_no_mark_without_the_database_file(tmp_path: Path) -> None:
    assert store_mark(None) is None
    assert store_mark(tmp_path / "chroma.sqlite3") is None


def test_no_mark_for_a_file_changed_just_now(tmp_path: Path) -> None:
    db = tmp_path / "chroma.sqlite3"
    db.write_bytes(b"x")
    assert store_mark(db) is None
    time.sleep(QUIET_S)
    assert store_mark(db) is not None


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


@pytest.fixture
def two_services(tmp_path: Path) -> Iterator[tuple[CitebotService, CitebotService]]:
    """Two services on one embedded store (never a server: its files are what is checked)."""
    settings = load_settings(data_dir=tmp_path / "data")
    first = build_service(settings, embedder=HashEmbedder())
    second = build_service(settings, embedder=HashEmbedder())
    yield first, second
    first.close()
    second.close()


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
