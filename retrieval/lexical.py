"""BM25 over the visible chunks of a knowledge base, rebuilt from Chroma when it changes."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.store import StoredChunk
from retrieval.text import terms

log = logging.getLogger(__name__)

_META = "citebot-chunks.json"


def _bm25s() -> Any:
    """Import bm25s, undoing the DEBUG level it sets on its own logger at import."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class LexicalIndex:
    """A BM25 index (bm25s) over a fixed list of chunks."""

    def __init__(self, chunks: Sequence[StoredChunk], retriever: Any = None) -> None:
        bm25s = _bm25s()
        self.chunks = list(chunks)
        if retriever is None:
            retriever = bm25s.BM25()
            if self.chunks:
                retriever.index([terms(c.text) or ["\x00"] for c in self.chunks], show_progress=False)
        self._bm25: Any = retriever

    def search(self, query: str, n: int) -> list[tuple[StoredChunk, float]]:
        """Return up to n chunks with a positive BM25 score, best first."""
        tokens = terms(query)
        if not self.chunks or not tokens or n <= 0:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens))
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, directory: Path, token: str) -> None:
        """Write the index to directory atomically, tagged with the store's change token."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=directory.parent))
        try:
            if self.chunks:
                self._bm25.save(str(tmp), show_progress=False)
            payload = {"token": token, "chunks": [asdict(c) for c in self.chunks]}
            (tmp / _META).write_text(json.dumps(payload), encoding="utf-8")
            old = directory.with_name(directory.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if directory.exists():
                directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path, token: str) -> LexicalIndex | None:
        """Read a saved index if it matches token; None if absent, stale or unreadable."""
        bm25s = _bm25s()
        try:
            payload = json.loads((directory / _META).read_text(encoding="utf-8"))
            if payload.get("token") != token:
                return None
            chunks = [StoredChunk(**c) for c in payload["chunks"]]
            retriever = bm25s.BM25.load(str(directory), show_progress=False) if chunks else None
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a corrupt index is rebuilt, never fatal
            log.warning("BM25 index at %s is unreadable (%s); rebuilding it", directory, exc)
            return None
        return cls(chunks, retriever)
