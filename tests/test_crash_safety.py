"""Crash safety: a killed ingest leaves nothing visible; concurrent adds lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from retrieval.compose import build_service
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from tests.proc import run_citebot

SENTENCES = [
    "The glacier {n} retreated by {m} metres last year.",
    "Researchers measured meltwater in valley {n} for {m} days.",
    "Station {n} recorded a record temperature of {m} degrees.",
]


def _big_article(sentences: int) -> str:
    return " ".join(SENTENCES[i % 3].format(n=i, m=i * 7 % 101) for i in range(sentences))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_citebot(env, *args)


@pytest.mark.model
def test_kill_9_during_ingest_leaves_no_partial_article_and_re_adding_completes_it(tmp_path: Path) -> None:
    article = tmp_path / "glaciers.txt"
    article.write_text(_big_article(300), encoding="utf-8")
    env = {
        **os.environ,
        "CITEBOT_DATA_DIR": str(tmp_path / "data"),
        "CITEBOT_CHROMA__BATCH_SIZE": "20",
        "CITEBOT_CHUNK__SIZE": "200",
        "CITEBOT_CHUNK__OVERLAP": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "-vv", "add", str(article)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    killed_mid_write = False
    deadline = time.monotonic() + 150
    for line in proc.stderr:
        if "stored chunks 20-40 of" in line:
            os.kill(proc.pid, signal.SIGKILL)
            killed_mid_write = True
            break
        if time.monotonic() > deadline:
            break
    proc.wait(timeout=30)
    assert killed_mid_write, "the ingest finished or stalled before it could be killed"
    assert proc.returncode == -signal.SIGKILL

    listed = _cli(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []

    asked = _cli(env, "ask", "By how many metres did glacier 3 retreat?", "--json")
    assert asked.returncode == 0, asked.stderr
    assert all("glacier" not in c["passage"] for c in json.loads(asked.stdout)["citations"])

    again = _cli(env, "add", str(article))
    assert again.returncode == 0, again.stderr
    article_id, _, chunks, status = again.stdout.strip().split("\t")
    assert status == "added"
    listed = json.loads(_cli(env, "list", "--json").stdout)
    assert [a["id"] for a in listed if a["id"] == article_id] == [article_id]
    probe = _cli(env, "ask", "By how many metres did glacier 3 retreat?", "--json")
    answer = json.loads(probe.stdout)
    assert answer["citations"][0]["article_id"] == article_id
    assert "21 metres" in answer["answer"]
    assert int(chunks.split()[0]) > 40


def test_concurrent_adds_to_one_knowledge_base_lose_and_duplicate_nothing(
    fake_service: CitebotService,
) -> None:
    docs = [
        SourceDocument(text=_big_article(5 + i) + f" Unique fact number {i}.", title=f"Doc {i}", source="t")
        for i in range(8)
    ]
    errors: list[BaseException] = []

    def add(doc: SourceDocument) -> None:
        try:
            fake_service.add_document(doc)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(d,)) for d in docs + docs[:4]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    articles = fake_service.list_articles()
    assert sorted(a.title for a in articles) == sorted(d.title for d in docs)
    stored = list(fake_service.kb().store.iter_chunks())
    assert len(stored) == sum(a.chunks for a in articles)
    assert len({c.id for c in stored}) == len(stored)


def test_a_restart_keeps_every_article(fake_service: CitebotService) -> None:
    from tests.fakes import HashEmbedder

    for i in range(5):
        fake_service.add_document(
            SourceDocument(text=f"Fact {i}: " + _big_article(3 + i), title=f"T{i}", source="t")
        )
    before = {(a.id, a.chunks, a.content_hash) for a in fake_service.list_articles()}
    reopened = build_service(fake_service.settings, embedder=HashEmbedder())
    assert {(a.id, a.chunks, a.content_hash) for a in reopened.list_articles()} == before


@pytest.mark.parametrize(("free_mb", "noted"), [(2.7, True), (900.0, False)])
def test_a_failed_write_on_a_full_disk_says_so(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch, free_mb: float, noted: bool
) -> None:
    import shutil

    from retrieval.errors import StoreError
    from retrieval.store import KBStore

    def failing(*args: object, **kwargs: object) -> None:
        raise StoreError("the vector store failed while storing chunks: Error in compaction")

    usage = shutil.disk_usage(fake_service.settings.data_dir)._replace(free=int(free_mb * 2**20))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage)
    monkeypatch.setattr(KBStore, "put_many", failing)
    with pytest.raises(StoreError) as raised:
        fake_service.add_document(SourceDocument(text="Owls hunt at night.", title="Owls", source="t"))
    assert raised.value.args[0].startswith("the vector store failed while storing chunks")
    assert ("2.7 MB free: it may be full" in str(raised.value)) == noted


def test_a_failed_commit_leaves_no_chunks_behind(
    fake_service: CitebotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.errors import StoreError
    from retrieval.store import KBStore

    old = SourceDocument("The bridge is painted red.", "Bridge", "u", url="https://example.test/bridge")
    fake_service.add_document(old)
    kb = fake_service.kb()
    before = sorted((c.id, c.text) for c in kb.store.iter_chunks())

    def failing(*args: object, **kwargs: object) -> str:
        raise StoreError("the vector store failed while saving articles: disk I/O error")

    monkeypatch.setattr(KBStore, "commit_articles", failing)
    new = SourceDocument("The bridge is painted blue.", "Bridge", "u", url="https://example.test/bridge")
    other = SourceDocument("Otters hold hands while they sleep.", "Otters", "t")
    with pytest.raises(StoreError):
        fake_service.add_documents([new, other])
    assert (
        sorted((c.id, c.text) for c in kb.store.iter_chunks()) == before
    )  # the update's and the new one's gone
    assert "red" in fake_service.ask("What colour is the bridge?").answer
