"""Chroma server mode: several processes share one server and stay consistent."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.loader import load_settings
from retrieval.compose import build_service
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.store import ChromaStore
from tests.chroma_server import chroma_server
from tests.proc import run_citebot

pytestmark = [pytest.mark.model, pytest.mark.chroma_server]

OWLS = "Snowy owls hunt lemmings in the Arctic tundra during the long summer days."


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with chroma_server() as url:
        yield url


def _cli(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CITEBOT_CHROMA__URL": url,
        "CITEBOT_DATA_DIR": str(data_dir),
        "CITEBOT_KB": "shared",
    }
    return run_citebot(env, *args)


def test_another_process_adding_and_removing_is_seen_by_the_next_ask(
    server_url: str, tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    settings = load_settings(data_dir=tmp_path / "bot-a", chroma={"url": server_url}, kb="shared")
    service = build_service(settings, embedder=real_embedder)
    try:
        assert service.ask("What do snowy owls hunt?").abstained
        note = tmp_path / "owls.txt"
        note.write_text(OWLS, encoding="utf-8")
        added = _cli(server_url, tmp_path / "bot-b", "add", str(note))
        assert added.returncode == 0, added.stderr
        article_id = added.stdout.split("\t")[0]
        answer = service.ask("What do snowy owls hunt?")
        assert "lemmings" in answer.answer
        assert {c.article_id for c in answer.citations} == {article_id}
        removed = _cli(server_url, tmp_path / "bot-b", "remove", article_id)
        assert removed.returncode == 0, removed.stderr
        assert service.ask("What do snowy owls hunt?").abstained
        kb = service.kb("shared")
        assert article_id not in kb.articles
    finally:
        service.store.drop_knowledge_base("shared")


def test_the_cli_answers_from_a_server_store(server_url: str, tmp_path: Path) -> None:
    done = _cli(server_url, tmp_path, "ask", "How fast is Kim's train?", "--json")
    try:
        assert done.returncode == 0, done.stderr
        assert "60 km/h" in json.loads(done.stdout)["answer"]
    finally:
        settings = load_settings(data_dir=tmp_path, chroma={"url": server_url})
        ChromaStore.from_settings(settings).drop_knowledge_base("shared")


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    from tests.chroma_server import _free_port

    done = _cli(f"http://127.0.0.1:{_free_port()}", tmp_path, "list")
    assert done.returncode == 1
    assert "cannot reach the Chroma server" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
