"""Hybrid search over one knowledge base: dense (Chroma) and BM25, fused by reciprocal rank."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.lexical import LexicalIndex
from retrieval.models import ArticleInfo, Passage

if TYPE_CHECKING:
    from config.settings import SearchSettings
    from retrieval.store import KBStore, StoredChunk

log = logging.getLogger(__name__)


class KnowledgeBase:
    """A knowledge base's visible articles and BM25 index, kept in step with Chroma."""

    def __init__(self, store: KBStore, index_dir: Path | None) -> None:
        self.store = store
        self._index_dir = index_dir
        self._lock = threading.Lock()
        self._token: str | None = None
        self.articles: dict[str, ArticleInfo] = {}
        self._versions: dict[str, str] = {}
        self._lexical = LexicalIndex([])
        self.write_lock = threading.Lock()

    def sync(self) -> None:
        """Reload the article list and BM25 index if another writer changed the store."""
        token = self.store.token()
        if token == self._token:
            return
        with self._lock:
            token = self.store.token()
            if token == self._token:
                return
            registry = self.store.articles()
            versions = {aid: version for aid, (_, version) in registry.items()}
            lexical = self._load_index(token)
            if lexical is None:
                live = [c for c in self.store.iter_chunks() if versions.get(c.article_id) == c.version]
                live.sort(key=lambda c: (c.article_id, c.start))
                lexical = LexicalIndex(live)
                if self._index_dir is not None:
                    try:
                        lexical.save(self._index_dir, token)
                    except OSError as exc:
                        log.warning("could not save the BM25 index to %s: %s", self._index_dir, exc)
            self.articles = {aid: info for aid, (info, _) in registry.items()}
            self._versions = versions
            self._lexical = lexical
            self._token = token
            log.debug("kb %s: %d articles, %d chunks", self.store.name, len(versions), len(lexical.chunks))

    def _load_index(self, token: str) -> LexicalIndex | None:
        if self._index_dir is None:
            return None
        return LexicalIndex.load(self._index_dir, token)

    def is_live(self, chunk: StoredChunk) -> bool:
        """Tell whether a chunk belongs to the visible version of its article."""
        return self._versions.get(chunk.article_id) == chunk.version

    def search(self, query: str, vector: np.ndarray | None, settings: SearchSettings, k: int) -> list[Passage]:
        """Return the k best passages for a query by the configured mode."""
        n = max(settings.candidates, k)
        dense: list[StoredChunk] = []
        if settings.mode != "bm25" and vector is not None:
            # Over-fetch: chunks of versions not (or no longer) visible are dropped here.
            dense = [c for c in self.store.query(vector, n + 10) if self.is_live(c)][:n]
        lexical = self._lexical.search(query, n) if settings.mode != "dense" else []
        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        bm25: dict[str, float] = {}
        for rank, chunk in enumerate(dense):
            fused[chunk.id] = fused.get(chunk.id, 0.0) + settings.dense_weight / (settings.rrf_k + rank + 1)
            chunks[chunk.id] = chunk
        for rank, (chunk, score) in enumerate(lexical):
            fused[chunk.id] = fused.get(chunk.id, 0.0) + settings.bm25_weight / (settings.rrf_k + rank + 1)
            chunks.setdefault(chunk.id, chunk)
            bm25[chunk.id] = score
        best = sorted(fused, key=lambda cid: fused[cid], reverse=True)[:k]
        dense_scores = {c.id: c.dense for c in dense}
        missing = [cid for cid in best if dense_scores.get(cid) is None]
        if missing and vector is not None:
            for cid, emb in self.store.embeddings(missing).items():
                dense_scores[cid] = float(np.dot(np.asarray(emb, dtype=np.float32), vector))
        passages = []
        for cid in best:
            chunk = chunks[cid]
            info = self.articles.get(chunk.article_id)
            passages.append(
                Passage(
                    chunk_id=cid,
                    article_id=chunk.article_id,
                    title=info.title if info else chunk.article_id,
                    url=info.url if info else None,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    score=fused[cid],
                    dense=dense_scores.get(cid),
                    bm25=bm25.get(cid),
                )
            )
        return passages
