"""Hybrid search over one knowledge base: dense (Chroma) and BM25, fused by score (or rank)."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.lexical import Hit, LexicalIndex
from retrieval.models import ArticleInfo, Passage
from retrieval.store import StoredChunk
from retrieval.vectors import unpack_vectors

if TYPE_CHECKING:
    from config.settings import SearchSettings
    from retrieval.store import KBStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hits:
    """The best passages for a query, and the stored vectors of their sentences (by chunk id)."""

    passages: list[Passage]
    sentence_vectors: dict[str, np.ndarray] = field(default_factory=dict)


class KnowledgeBase:
    """A knowledge base's visible articles and BM25 index, kept in step with Chroma."""

    def __init__(
        self,
        store: KBStore,
        index_dir: Path | None,
        write_lock: threading.Lock | None = None,
        embedder: str = "",
        exact_max: int = 0,
    ) -> None:
        self.store = store
        self._embedder = embedder  # what makes this process's embeddings (for the BM25 index's codes)
        self._exact_max = exact_max  # the BM25 index holds full embeddings up to so many chunks
        self._index_dir = index_dir
        self._lock = threading.Lock()
        self._token: str | None = None
        self.articles: dict[str, ArticleInfo] = {}
        self._versions: dict[str, str] = {}
        self._lexical: LexicalIndex | None = None
        self._lexical_token: str | None = None
        self.write_lock = write_lock or threading.Lock()

    def sync(self) -> None:
        """Reload the article list if another writer changed the store (BM25 follows lazily)."""
        token = self.store.token()
        if token == self._token:
            return
        with self._lock:
            token = self.store.token()
            if token == self._token:
                return
            registry = self.store.articles()
            self.articles = {aid: info for aid, (info, _) in registry.items()}
            self._versions = {aid: version for aid, (_, version) in registry.items()}
            self._token = token
            log.debug("kb %s: %d articles", self.store.name, len(self._versions))

    def take_commit(self, before: str, token: str, committed: Sequence[tuple[ArticleInfo, str]]) -> bool:
        """Take this process's own commit into the article list instead of reading the registry again.

        before is the store's token read just before the commit: if it is not the one this list
        was read at, another writer changed the store, and the next `sync` reads it all (False).
        """
        with self._lock:
            if self._token is None or before != self._token:
                return False
            articles, versions = dict(self.articles), dict(self._versions)  # replaced, not changed
            for info, version in committed:
                articles[info.id], versions[info.id] = info, version
            self.articles, self._versions, self._token = articles, versions, token
            return True

    def lexical(self) -> LexicalIndex:
        """Return the BM25 index of the visible chunks, brought up to date with the store."""
        # Updated on first use after a change, not per add: bulk ingestion stays linear.
        with self._lock:
            token = self._token or ""
            if self._lexical is None or self._lexical_token != token:
                self._lexical = self._update_index(self._lexical, token)
                self._lexical_token = token
                log.debug("kb %s: BM25 over %d chunks", self.store.name, self._lexical.size)
            return self._lexical

    def _update_index(self, index: LexicalIndex | None, token: str) -> LexicalIndex:
        """Index the chunks of visible versions the index lacks (only those), then save what changed."""
        saved = None
        if index is None and self._index_dir is not None:
            loaded = LexicalIndex.load(self._index_dir, self._embedder, self._exact_max)
            index, saved = loaded if loaded is not None else (None, None)
        versions = self._versions  # replaced, never changed in place, by sync
        counts = {aid: info.chunks for aid, info in self.articles.items()}
        held = index.covered() if index is not None else {}
        missing = [aid for aid, v in versions.items() if held.get((aid, v)) != counts.get(aid)]
        if index is None or any((aid, versions[aid]) in held for aid in missing):
            # No index yet, or a version held with other chunks (changed chunk settings): rebuild.
            index, missing = LexicalIndex(self._embedder, self._exact_max), list(versions)
        # The chunk embeddings include the title: codes taken under another one no longer bound them.
        stamps = {aid: info.title for aid, info in self.articles.items()}
        if missing:
            index.add(self._live_chunks(missing, versions), stamps)
        index.restamp(stamps)
        changed = index.set_live(versions) or bool(missing)
        if index.dead_share() > 0.3:  # removed and replaced versions: drop them from the index
            index.compact()
            changed = True
        if unknown := index.prepare_vectors():  # for the exact dense search: chunks not held yet
            changed = index.put_vectors(self._held_chunks(unknown), stamps) or changed
        if self._index_dir is not None and (changed or saved != token):
            try:
                index.save(self._index_dir, token)
            except OSError as exc:
                log.warning("could not save the BM25 index to %s: %s", self._index_dir, exc)
        return index

    def _live_chunks(self, article_ids: list[str], versions: dict[str, str]) -> list[StoredChunk]:
        """Read the visible versions' chunks of some articles (a few by id, many by a full scan)."""
        wanted = set(article_ids)
        few = len(wanted) <= 100 and len(wanted) * 4 <= len(versions)
        # With their embeddings, kept in 8 bits to bound BM25 hits' cosines (lexical.py).
        found = (
            self.store.chunks_of(article_ids, vectors=True) if few else self.store.iter_chunks(vectors=True)
        )
        held = sum(info.chunks for info in self.articles.values()) <= self._exact_max  # lexvectors.py
        live = [
            c if held else dataclasses.replace(c, sentences=None)  # dropped as read: a full scan peaks lower
            for c in found
            if c.article_id in wanted and versions.get(c.article_id) == c.version
        ]
        live.sort(key=lambda c: (c.article_id, c.start))
        return live

    def _held_chunks(self, ids: list[str]) -> dict[str, StoredChunk]:
        """Read chunks with their embeddings and sentence vectors, a few thousand per request."""
        found: dict[str, StoredChunk] = {}
        for lo in range(0, len(ids), 2000):
            found |= self.store.chunks_by_id(ids[lo : lo + 2000], vectors=True)
        return found

    def _fill_dense(self, scores: dict[str, float | None], ids: list[str], vector: np.ndarray) -> None:
        """Fill in the cosine of chunks the dense retriever did not return."""
        for cid, (emb, _) in self.store.embeddings(ids).items():
            scores[cid] = float(np.dot(np.asarray(emb, dtype=np.float32), vector))

    @property
    def versions(self) -> Mapping[str, str]:
        """Return each article's visible version (the mapping is replaced on change, never altered)."""
        return self._versions

    def is_live(self, chunk: StoredChunk) -> bool:
        """Tell whether a chunk belongs to the visible version of its article."""
        return self._versions.get(chunk.article_id) == chunk.version

    def search(self, query: str, vector: np.ndarray | None, settings: SearchSettings, k: int) -> Hits:
        """Return the k best passages for a query by the configured mode."""
        n = max(settings.candidates, k)
        lex = self.lexical() if settings.mode != "dense" else None  # one index for both retrievers
        dense, cosines_of_dense, held = self._dense(vector, settings, n, lex)
        scored = settings.fusion == "score" and vector is not None
        hits = lex.hits(query, n, vector if scored else None) if lex is not None else []
        bm25 = {hit.chunk.id: hit.score for hit in hits}
        dense_scores: dict[str, float | None] = dict(
            zip([c.id for c in dense], cosines_of_dense, strict=True)
        )
        known: dict[str, StoredChunk] = {}  # chunks the index holds with their texts: no read
        if held:  # and the BM25 hits' cosines (with score fusion) too
            cosines: dict[str, float | None] = {h.chunk.id: h.cosine for h in hits if h.cosine is not None}
            dense_scores = cosines | dense_scores
            known = {h.chunk.id: h.chunk for h in hits if h.cosine is not None} | {c.id: c for c in dense}
        read: list[str] = []  # BM25 hits whose embedding comes with the final read
        if settings.fusion == "rrf":
            fused = _rrf(dense, [hit.chunk for hit in hits], settings)
        elif vector is None:
            fused = _score_fusion(dense_scores, bm25, settings)
        else:
            fused, read = _fuse_known(hits, dense_scores, settings, k)
            if len(read) > k:  # many: their embeddings alone first, without sentence vectors
                self._fill_dense(dense_scores, read, vector)
                fused |= _score_fusion(dense_scores, bm25, settings, read)
                read = []
        # Otherwise neither retriever holds texts: one read fetches the shown chunks with their sentence
        # vectors (and the embeddings of the BM25 hits that may still rank: their cosine decides).
        ahead = [cid for cid in sorted(fused, key=lambda cid: (-fused[cid], cid))[:k] if cid not in known]
        chunks = known | (
            self.store.chunks_by_id([*ahead, *read], vectors=bool(read)) if ahead or read else {}
        )
        if read and vector is not None:
            for cid in read:
                if (got := chunks.get(cid)) is not None and got.vector is not None:
                    dense_scores[cid] = float(np.dot(np.asarray(got.vector, dtype=np.float32), vector))
            fused |= _score_fusion(dense_scores, bm25, settings, read)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        if vector is not None:
            self._fill_dense(dense_scores, [cid for cid in best if dense_scores.get(cid) is None], vector)
        best = [cid for cid in best if cid in chunks]  # gone since the search
        passages = [
            self._passage(chunks[cid], fused[cid], dense_scores.get(cid), bm25.get(cid)) for cid in best
        ]
        rows = {cid: unpack_vectors(blob) for cid in best if (blob := chunks[cid].sentences) is not None}
        return Hits(passages, {cid: r for cid, r in rows.items() if r is not None})

    def _dense(
        self, vector: np.ndarray | None, settings: SearchSettings, n: int, lex: LexicalIndex | None
    ) -> tuple[list[StoredChunk], list[float | None], bool]:
        """Return the n nearest live chunks, their cosines, and whether they come held by the index (with texts)."""
        if vector is None or settings.mode == "bm25":
            return [], [], False
        if lex is not None and (held := lex.nearest(vector, n)) is not None:
            return (
                [c for c, _ in held],
                [s for _, s in held],
                True,
            )  # a small knowledge base: exact, in process
        # Over-fetch: chunks of versions not (or no longer) visible are dropped here. Ids and
        # scores only: texts are read below for the few chunks that make the answer.
        found = [c for c in map(_bare, self.store.query_ids(vector, n + 10)) if self.is_live(c)][:n]
        return found, [c.dense for c in found], False

    def _passage(self, chunk: StoredChunk, score: float, dense: float | None, bm25: float | None) -> Passage:
        info = self.articles.get(chunk.article_id)
        return Passage(
            chunk_id=chunk.id,
            article_id=chunk.article_id,
            title=info.title if info else chunk.article_id,
            url=info.url if info else None,
            text=chunk.text,
            start=chunk.start,
            end=chunk.end,
            score=score,
            dense=dense,
            bm25=bm25,
        )


def _bare(hit: tuple[str, float]) -> StoredChunk:
    """Return a chunk known only by its id (`article:version:index`) and dense score."""
    cid, score = hit
    article_id, version, _ = cid.rsplit(":", 2)
    return StoredChunk(cid, article_id, version, 0, 0, "", score)


def _rrf(dense: list[StoredChunk], lexical: list[StoredChunk], settings: SearchSettings) -> dict[str, float]:
    """Fuse two rankings by weighted reciprocal rank."""
    fused: dict[str, float] = {}
    for weight, ranking in ((settings.dense_weight, dense), (settings.bm25_weight, lexical)):
        for rank, chunk in enumerate(ranking):
            fused[chunk.id] = fused.get(chunk.id, 0.0) + weight / (settings.rrf_k + rank + 1)
    return fused


def _score_fusion(
    dense: dict[str, float | None],
    bm25: dict[str, float],
    settings: SearchSettings,
    ids: list[str] | None = None,
) -> dict[str, float]:
    """Fuse scores: weighted cosine plus weighted BM25 divided by the query's best BM25 (of ids, or all)."""
    top = max(bm25.values(), default=0.0) or 1.0
    return {
        cid: settings.dense_weight * (dense.get(cid) or 0.0) + settings.bm25_weight * bm25.get(cid, 0.0) / top
        for cid in (set(dense) | set(bm25) if ids is None else ids)
    }


def _fuse_known(
    hits: list[Hit], dense: dict[str, float | None], settings: SearchSettings, k: int
) -> tuple[dict[str, float], list[str]]:
    """Fuse the chunks whose cosine is known; return them and the BM25 hits that may still rank.

    A BM25 hit the dense retriever did not return lacks its cosine. Its 8-bit embedding bounds it
    from above (lexical.py): a hit whose fused score stays below the k-th best known one even at
    that bound cannot be shown, and is left out; the others must be read.
    """
    bm25 = {hit.chunk.id: hit.score for hit in hits}
    fused = _score_fusion(dense, bm25, settings, list(dense))
    kth = sorted(fused.values(), reverse=True)[k - 1] if len(fused) >= k else -math.inf
    bound = _score_fusion(
        {h.chunk.id: 1.0 + 1e-5 if h.upper is None else h.upper for h in hits if h.chunk.id not in dense},
        bm25,
        settings,
        [h.chunk.id for h in hits if h.chunk.id not in dense],
    )
    return fused, [cid for cid, top in bound.items() if top >= kth - 1e-6]
