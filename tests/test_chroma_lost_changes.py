"""Changes Chroma holds in memory only are lost when it evicts the index: none may be left there.

Chroma 1.5 writes an HNSW index to disk after `sync_threshold` changes and replays its log into an
index read back from disk at the first read in a process and at writes only. So a read after an
eviction missed the changes not yet on disk: reads with vectors failed ("Error finding id": a
tester's knowledge base past 1,000 chunks, at every add) and searches missed the chunks.

These tests evict on purpose: Chroma closes the files of an index it evicts, so a test loads
other indexes into the cache until the files of the one under test are closed (/proc/self/fd).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config.loader import load_settings
from retrieval.chroma_client import SYNC
from retrieval.chunking import Chunk
from retrieval.store import ChromaStore, KBStore
from tests.test_chroma_eviction import _run

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd (Linux)")
DIM = 8


def _held(folder: Path) -> bool:
    """Tell whether this process has a file of `folder` open."""
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith(f"{folder}{os.sep}"):
            return True
    return False


class Evictor:
    """Pushes a collection's index out of Chroma's cache by loading other indexes into it."""

    def __init__(self, client: Any, root: Path) -> None:
        self.client = client
        self.root = root
        self.made = 0
        self.rival: Any = None  # an index that shares the cache slot of the last one evicted

    def folder(self, collection: Any) -> Path:
        with sqlite3.connect(f"file:{self.root / 'chroma.sqlite3'}?mode=ro", uri=True) as db:
            (segment,) = db.execute(
                "SELECT id FROM segments WHERE collection = ? AND scope = 'VECTOR'", (str(collection.id),)
            ).fetchone()
        return self.root / segment

    def evict(self, collection: Any) -> None:
        folder = self.folder(collection)
        assert _held(folder), "the index under test is not in memory"
        if self.rival is not None:  # loading it again takes the slot back
            self.rival.query(query_embeddings=[[1.0] * DIM], n_results=1, include=[])
            for _ in range(100):
                if not _held(folder):
                    return
                time.sleep(0.02)
        for _ in range(3000):  # the cache has 64 shards: expect ~64 tries
            self.made += 1
            other = self.client.get_or_create_collection(
                f"other-{self.made}", configuration={"hnsw": {"sync_threshold": 1}}, embedding_function=None
            )
            other.upsert(ids=["a", "b"], embeddings=[[1.0] * DIM, [0.5] * DIM])
            if not _held(folder):
                self.rival = other
                return
        raise AssertionError("Chroma never evicted the index")


def _put(kb: KBStore, article: str, n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    chunks = [Chunk(i, i, i + 1, f"{article} chunk {i}") for i in range(n)]
    kb.put_many([(article, "v1", chunks, vectors)])
    return vectors


def _all_readable(kb: KBStore, articles: dict[str, np.ndarray]) -> None:
    """Every chunk reads back with its vector and is found by its own vector."""
    got = kb.chunks_of(list(articles), vectors=True)
    assert len(got) == sum(len(v) for v in articles.values())
    for article, vectors in articles.items():
        for i in (0, len(vectors) - 1):
            assert kb.query_ids(vectors[i], 1)[0][0] == f"{article}:v1:{i}"


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    """A data directory, in memory where the system has one: evicting takes ~64 writes to Chroma."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path / "data"
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="citebot-test-") as folder:
        yield Path(folder) / "data"


def _store(data: Path) -> tuple[ChromaStore, Evictor]:
    settings = load_settings(data_dir=data, chroma={"url": None, "hnsw_cache": 2})
    store = ChromaStore.from_settings(settings)
    return store, Evictor(store._client, data / "chroma")


def test_a_knowledge_base_past_1000_chunks_keeps_every_chunk_through_evictions(data: Path) -> None:
    store, evictor = _store(data)
    kb = store.knowledge_base("big", "m")
    articles = {"a1": _put(kb, "a1", 1000, 1)}  # past 1,000 chunks: the code before went to 1,000
    assert kb.count_chunks() == 1000  # a read: Chroma has replayed its log, once for this process
    evictor.evict(kb._chunks)
    articles["a2"] = _put(kb, "a2", 15, 2)  # an index read back from disk takes new chunks
    evictor.evict(kb._chunks)  # ... and the index is read back again
    _all_readable(kb, articles)
    assert kb._chunks.configuration["hnsw"]["sync_threshold"] == SYNC


def test_one_new_chunk_and_one_deletion_survive_an_eviction(data: Path) -> None:
    store, evictor = _store(data)
    kb = store.knowledge_base("small", "m")
    articles = {"a1": _put(kb, "a1", 3, 1)}
    gone = _put(kb, "a0", 1, 0)
    kb.count_chunks()
    articles["a2"] = _put(kb, "a2", 1, 2)  # one change only
    kb.delete_other_versions({"a0": None})  # one change only, a deletion
    evictor.evict(kb._chunks)
    _all_readable(kb, articles)
    assert "a0:v1:0" not in [cid for cid, _ in kb.query_ids(gone[0], 5)]


_STUCK = """
import sys
import numpy as np
import chromadb
# A chunk collection as the code before left it past 1,000 chunks: on Chroma's threshold of 1,000,
# with changes in Chroma's log that its index on disk lacks (they were evicted from memory).
client = chromadb.PersistentClient(path=sys.argv[1])
col = client.get_or_create_collection(
    "citebot-stuck-chunks",
    metadata={"hnsw:space": "cosine", "hnsw:sync_threshold": 2, "embedding_model": "m", "citebot_sync": 1},
)
col.modify(configuration={"hnsw": {"sync_threshold": 1000}})
rng = np.random.default_rng(1)
for article, n in (("a1", 1000), ("a2", 20)):
    col.upsert(
        ids=[f"{article}:v1:{i}" for i in range(n)],
        embeddings=rng.standard_normal((n, 8)).astype(np.float32),
        metadatas=[{"article_id": article, "version": "v1", "idx": i, "start": i, "end": i + 1} for i in range(n)],
        documents=[f"{article} chunk {i}" for i in range(n)],
    )
"""


def test_a_knowledge_base_left_stuck_by_the_code_before_recovers(data: Path) -> None:
    _run(_STUCK, str(data / "chroma"))
    store, evictor = _store(data)
    kb = store.knowledge_base("stuck", "m")
    rng = np.random.default_rng(1)
    articles = {"a1": rng.standard_normal((1000, DIM)).astype(np.float32)}
    articles["a2"] = rng.standard_normal((20, DIM)).astype(np.float32)
    articles["a3"] = _put(kb, "a3", 15, 3)  # an add first, as the tester's
    _all_readable(kb, articles)
    articles["a4"] = _put(kb, "a4", 15, 4)  # and another, with the index evicted in between
    evictor.evict(kb._chunks)
    _all_readable(kb, articles)
    assert kb._chunks.configuration["hnsw"]["sync_threshold"] == SYNC
