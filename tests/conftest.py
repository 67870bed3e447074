"""Shared fixtures: isolated data dirs, a fake embedder, the real model once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from config.loader import load_settings
from config.settings import Settings
from retrieval.compose import build_service
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.service import CitebotService
from retrieval.store import ChromaStore
from tests.fakes import HashEmbedder

pytest_plugins = ["tests.conftest_netguard", "tests.fetchserver"]

EXPORT_DIR = Path(__file__).resolve().parent.parent / ".cache" / "onnx"
SEED_TEXT = (Path(__file__).parent.parent / "seeds" / "kim-jong-un-train-to-russia.txt").read_text(
    encoding="utf-8"
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep every test away from the user's data dir, .env and real tokens."""
    for name in list(os.environ):
        if name.startswith("CITEBOT_") and name not in ("CITEBOT_TEST_CHROMA_URL",):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path / "data"))
    # One ONNX export of the packaged model for every test (and run): it takes about a minute.
    monkeypatch.setenv("CITEBOT_EMBEDDING__EXPORT_DIR", str(EXPORT_DIR))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on an isolated data dir (embedded Chroma, or the test server if set)."""
    overrides: dict[str, object] = {"data_dir": tmp_path / "data"}
    url = os.environ.get("CITEBOT_TEST_CHROMA_URL")
    if url:
        overrides["chroma"] = {"url": url}
    return load_settings(**overrides)


@pytest.fixture
def fake_service(settings: Settings) -> Iterator[CitebotService]:
    """A service with the hashing embedder (fast, deterministic)."""
    service = build_service(settings, embedder=HashEmbedder())
    yield service
    service.close()
    _drop_all(service.store)


def _drop_all(store: ChromaStore) -> None:
    # On a shared Chroma server, leave nothing behind for the next test.
    for name in store.knowledge_bases():
        store.drop_knowledge_base(name)


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2, loaded once for the whole session."""
    embedder = SentenceTransformerEmbedder(load_settings().embedding)
    embedder.load()
    return embedder


@pytest.fixture
def real_service(settings: Settings, real_embedder: SentenceTransformerEmbedder) -> Iterator[CitebotService]:
    """A service with the real model on an isolated store."""
    service = build_service(settings, embedder=real_embedder)
    yield service
    service.close()
    _drop_all(service.store)


@pytest.fixture
def two_services(tmp_path: Path) -> Iterator[tuple[CitebotService, CitebotService]]:
    """Two services on one embedded store, as two processes would be (never a server: its files count)."""
    settings = load_settings(data_dir=tmp_path / "data")
    first = build_service(settings, embedder=HashEmbedder())
    second = build_service(settings, embedder=HashEmbedder())
    yield first, second
    first.close()
    second.close()
