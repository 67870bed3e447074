"""Chroma's bounded index cache: knowledge bases whose vector index was evicted still answer.

The embedded store keeps at most `chroma.hnsw_cache` vector indexes in memory. An index evicted
before Chroma ever wrote it to disk could not be read back, so these tests evict on purpose
(a cache of 2) and ask in every knowledge base, new ones and ones written before this change.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from config.loader import load_settings
from retrieval.chroma_client import SYNC, keep_reloadable, open_client
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from retrieval.store import ChromaStore
from tests.fakes import HashEmbedder

FACTS = {
    "zebras": "Zebras are African equines with black and white stripes. Each zebra has a unique pattern.",
    "comets": "Comets are icy bodies that grow glowing tails when they pass close to the Sun.",
    "bees": "Honey bees dance to tell their hive mates where the flowers with nectar are.",
    "glaciers": "Glaciers are slow rivers of ice that carve valleys as they creep downhill.",
}
QUESTIONS = {
    "zebras": "What stripes do zebras have?",
    "comets": "When do comets grow tails?",
    "bees": "Why do bees dance?",
    "glaciers": "What do glaciers carve?",
}
LONG = " ".join(
    f"Paragraph {n} says that otters hold hands while they sleep on the water." for n in range(40)
)


def _service(data_dir: Path, cache: int = 2, open_kbs: int = 2) -> CitebotService:
    settings = load_settings(data_dir=data_dir, open_kbs=open_kbs, chroma={"url": None, "hnsw_cache": cache})
    return CitebotService(settings, HashEmbedder(), ChromaStore.from_settings(settings))


def _ask_everywhere(service: CitebotService, rounds: int = 2) -> None:
    for _ in range(rounds):  # with 2 cached indexes, every ask reads an evicted index back
        for name, question in QUESTIONS.items():
            answer = service.ask(question, kb=name)
            assert not answer.abstained, name
            assert [c.title for c in answer.citations][:1] == [name]
            found = service.kb(name).search(
                question, service.embedder.encode([question])[0], service.settings.search, 3
            )
            assert found.passages and found.passages[0].dense is not None  # the dense index answered


def test_knowledge_bases_answer_after_their_indexes_are_evicted(tmp_path: Path) -> None:
    service = _service(tmp_path / "data")
    for name, text in FACTS.items():  # one chunk each: the smallest index there is
        service.add_document(SourceDocument(text=text, title=name, source="test"), kb=name)
    service.add_document(SourceDocument(text=LONG, title="otters", source="test"), kb="bees")
    _ask_everywhere(service)
    # Written after eviction too: an evicted index takes new chunks and finds them.
    service.add_document(SourceDocument(text=FACTS["comets"], title="comets", source="test"), kb="zebras")
    _ask_everywhere(service, rounds=1)
    assert [c.title for c in service.ask(QUESTIONS["comets"], kb="zebras").citations][:1] == ["comets"]


_LEGACY = """
import sys
import retrieval.chroma_client as cc
# Collections as citebot made them before: Chroma's default threshold, never changed.
cc.chunk_metadata = lambda model: {{"hnsw:space": "cosine", "embedding_model": model}}
cc.keep_reloadable = lambda collection: None
from config.loader import load_settings
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from retrieval.store import ChromaStore
from tests.fakes import HashEmbedder
facts = {facts!r}
settings = load_settings(data_dir=sys.argv[1], chroma={{"url": None}})
service = CitebotService(settings, HashEmbedder(), ChromaStore.from_settings(settings))
for name, text in facts.items():
    service.add_document(SourceDocument(text=text, title=name, source="test"), kb=name)
"""


def _run(code: str, *args: str) -> None:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_store_written_before_is_migrated_when_opened(tmp_path: Path) -> None:
    _run(_LEGACY.format(facts=FACTS), str(tmp_path / "data"))
    service = _service(tmp_path / "data")
    _ask_everywhere(service)
    for name in FACTS:
        chunks = service.store._client.get_collection(f"citebot-{name}-chunks")
        assert chunks.configuration["hnsw"]["sync_threshold"] == SYNC
        assert chunks.configuration["hnsw"]["space"] == "cosine"
        assert chunks.metadata["embedding_model"] == "fake-hash"  # the model check still has it


@pytest.mark.parametrize("records", [1, 2, 3])
def test_a_small_collection_written_before_reloads_after_migration(tmp_path: Path, records: int) -> None:
    # Records written once under Chroma's default threshold: never on disk until migrated.
    code = """
    import sys
    import chromadb
    client = chromadb.PersistentClient(path=sys.argv[1])
    for n in range(12):
        col = client.get_or_create_collection(f"col-{n}", metadata={"hnsw:space": "cosine"})
        rows = int(sys.argv[2])
        col.upsert(
            ids=["only"] + [f"other-{i}" for i in range(rows - 1)],
            embeddings=[[float(n + 1), 1.0, 0.5]] + [[-1.0, float(i), 2.0] for i in range(rows - 1)],
            documents=["the only record"] + ["another"] * (rows - 1),
        )
    """
    _run(code, str(tmp_path / "data" / "chroma"), str(records))
    settings = load_settings(data_dir=tmp_path / "data", chroma={"url": None, "hnsw_cache": 2})
    client = open_client(settings)
    cols = [client.get_collection(f"col-{n}") for n in range(12)]
    for col in cols:
        keep_reloadable(col)
        assert col.count() == records
    for _ in range(3):
        for n, col in enumerate(cols):
            got = col.query(query_embeddings=[[float(n + 1), 1.0, 0.5]], n_results=1, include=["documents"])
            assert got["documents"] == [["the only record"]]


def test_a_large_collection_made_before_moves_to_the_threshold_of_1(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", chroma={"url": None})
    col = open_client(settings).get_or_create_collection("big-one", metadata={"hnsw:space": "cosine"})
    vectors = np.random.default_rng(0).standard_normal((1000, 8)).astype(np.float32)
    col.upsert(ids=[str(i) for i in range(1000)], embeddings=vectors)
    keep_reloadable(col)
    assert (
        col.configuration["hnsw"]["sync_threshold"] == SYNC and col.configuration["hnsw"]["space"] == "cosine"
    )
    assert col.query(query_embeddings=vectors[:1], n_results=1, include=[])["ids"] == [["0"]]
