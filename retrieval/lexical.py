"""BM25 over the visible chunks of a knowledge base, in segments that grow without a rebuild.

Adding an article tokenises and indexes only its chunks, as a new segment. Scores are computed
at query time from raw term counts and the statistics of the live chunks (document count,
average length, document frequencies), so they equal a rebuild's exactly: bm25s's Lucene
variant, which this index replaced. A chunk is live while its article's visible version is
the chunk's; replaced and removed versions stay in their segment, masked, until a merge drops
them. Segments merge like a log (the newest two when the newer holds at least half as many
chunks), so each chunk is rewritten O(log n) times and one add costs O(its own chunks).

Each segment may also keep its chunks' embeddings in 8 bits (a byte per dimension and a scale
per chunk, 0.4 KB a chunk): enough to bound the cosine of a BM25 hit with a query from above
(`Hit.upper`), so the search reads the exact embeddings only of hits that could rank. Those codes
are dropped wherever they may no longer match the stored embeddings (lexcodes.py). A small
index also keeps them in full, for an exact dense search in process (lexvectors.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import lexcodes, lexvectors
from retrieval.lexcodes import fits, quantize, without_rows
from retrieval.lexsegment import Segment, best_live, columns, from_coo, rewrite
from retrieval.store import StoredChunk
from retrieval.text import terms

log = logging.getLogger(__name__)

FORMAT = 6  # 6: "’" read as "'" (older indexes hold other terms: rebuilt once); 5: codes, stamps.
_READS = (FORMAT,)
_MANIFEST = "segments.json"
_FIELDS = ("id", "article_id", "version", "start", "end")


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk BM25 found, its score, an upper bound of its cosine with the query, the cosine if held."""

    chunk: StoredChunk
    score: float
    upper: float | None = None
    cosine: float | None = None


class LexicalIndex:
    """BM25 over chunks, in segments; `set_live` says which chunks count (the visible versions)."""

    def __init__(self, embedder: str = "", exact_max: int = 0) -> None:
        self.embedder = embedder  # what made the embeddings the codes were taken from (lexcodes.py)
        self.exact_max = exact_max  # keep full embeddings up to so many indexed chunks (lexvectors.py)
        self._exact = False  # every live chunk's embedding is held: `nearest` answers
        self._stamps: dict[tuple[str, str], str] = {}  # (article, version): its codes' stamp
        self._lock = threading.Lock()  # hits() against an add's update in another thread
        self.segments: list[Segment] = []
        self.vocab: dict[str, int] = {}
        self._live: list[np.ndarray] = []
        self._df = np.zeros(0, dtype=np.int64)
        self._docs = 0
        self._length = 0
        self._held: dict[tuple[str, str], int] = {}

    @classmethod
    def build(cls, chunks: Iterable[StoredChunk]) -> LexicalIndex:
        """Return an index over chunks, all live."""
        index = cls()
        chunks = list(chunks)
        index.add(chunks)
        index.set_live({c.article_id: c.version for c in chunks})
        return index

    @property
    def size(self) -> int:
        """Return how many chunks are live."""
        return self._docs

    def covered(self) -> dict[tuple[str, str], int]:
        """Return how many chunks the index holds of each (article id, version)."""
        return self._held

    def _count(self, chunks: Iterable[StoredChunk], step: int) -> None:
        for c in chunks:
            key = (c.article_id, c.version)
            left = self._held.get(key, 0) + step
            if left:
                self._held[key] = left
            else:
                self._held.pop(key, None)
                self._stamps.pop(key, None)

    def add(self, chunks: Sequence[StoredChunk], stamps: Mapping[str, str] | None = None) -> None:
        """Index chunks as a new segment; they count from the next `set_live` that names them.

        stamps: per article, what its embeddings were made with besides its text (see `restamp`).
        """
        if not chunks:
            return
        with self._lock:
            self._add(chunks, stamps or {})

    def _add(self, chunks: Sequence[StoredChunk], stamps: Mapping[str, str]) -> None:
        first_new = len(self.vocab)
        ids: list[np.ndarray] = []
        for chunk in chunks:
            words = terms(chunk.text) or ["\x00"]  # an empty chunk still has length 1, as in bm25s
            ids.append(np.fromiter((self.vocab.setdefault(w, len(self.vocab)) for w in words), np.int64))
        width = len(self.vocab)
        lengths = np.fromiter((len(x) for x in ids), np.int64, len(ids))
        keys = np.repeat(np.arange(len(ids), dtype=np.int64), lengths) * width + np.concatenate(ids)
        uniq, counts = np.unique(keys, return_counts=True)  # sorted by row, then term
        indptr, rows, tf = from_coo(uniq // width, uniq % width, counts, width)
        name = uuid.uuid4().hex[:12]
        new_terms = list(self.vocab)[first_new:]
        seg = Segment(name, [_bare(c) for c in chunks], lengths, indptr, rows, tf, new_terms, np.diff(indptr))
        if all(c.vector is not None for c in chunks):  # in blocks: no full float copy at 100,000 chunks
            blocks = [
                quantize(np.asarray([c.vector for c in chunks[lo : lo + 4096]], dtype=np.float32))
                for lo in range(0, len(chunks), 4096)
            ]
            seg.codes = np.concatenate([codes for codes, _ in blocks])
            seg.scales = np.concatenate([scales for _, scales in blocks])
            for c in chunks:
                self._stamps[(c.article_id, c.version)] = stamps.get(c.article_id, "")
            if sum(len(s.chunks) for s in self.segments) + len(chunks) <= self.exact_max:
                lexvectors.take(seg, chunks)  # their texts too: no read to show them
        self._count(seg.chunks, 1)
        self.segments = [*self.segments, seg]  # replaced, not changed: see `hits`
        self._live = [*self._live, np.zeros(len(chunks), dtype=bool)]

    def restamp(self, stamps: Mapping[str, str]) -> None:
        """Drop the codes of chunks whose article's stamp is not the one they were taken under.

        A removed article added again under another title, or a version stored again, has new
        embeddings under the same chunk ids: its old codes no longer bound them.
        """
        with self._lock:
            stale = {k for k, stamp in self._stamps.items() if stamps.get(k[0]) != stamp}
            if not stale:
                return
            segments = list(self.segments)
            for n, seg in enumerate(segments):
                drop = np.fromiter(((c.article_id, c.version) in stale for c in seg.chunks), bool)
                if (seg.scales is not None or lexvectors.holds(seg)) and drop.any():  # renamed: saved again
                    scales = None if seg.scales is None else without_rows(seg.scales, drop)
                    held = lexvectors.forget(seg, drop)  # read again from the store
                    segments[n] = dataclasses.replace(seg, name=uuid.uuid4().hex[:12], scales=scales, **held)  # type: ignore[arg-type]
            self.segments = segments
            for key in stale:  # no codes left to guard
                del self._stamps[key]
            self._exact = lexvectors.all_known(self.segments, self._live)

    def set_live(self, versions: Mapping[str, str]) -> bool:
        """Count exactly the chunks of the visible versions; merge segments; True if segments changed."""
        with self._lock:
            return self._set_live(versions)

    def _set_live(self, versions: Mapping[str, str]) -> bool:
        df = np.zeros(len(self.vocab), dtype=np.int64)
        docs = length = 0
        for n, seg in enumerate(self.segments):
            live = np.fromiter(
                (versions.get(c.article_id) == c.version for c in seg.chunks), bool, len(seg.chunks)
            )
            self._live[n] = live
            docs += int(live.sum())
            length += int(seg.lengths[live].sum())
            df[: seg.terms_known] += seg.df
            if not live.all():
                dead = ~live[seg.rows]
                df[: seg.terms_known] -= np.bincount(columns(seg)[dead], minlength=seg.terms_known)
        self._df, self._docs, self._length = df, docs, length
        # Dropping chunks that are not live changes none of the statistics above.
        merged = False
        while len(self.segments) > 1 and 2 * len(self.segments[-1].chunks) >= len(self.segments[-2].chunks):
            self._merge(len(self.segments) - 2)
            merged = True
        for seg in self.segments:
            seg.weigh(length / docs if docs else 1.0)
        self._exact = lexvectors.all_known(self.segments, self._live)
        return merged

    def _merge(self, first: int) -> None:
        """Merge the segments from `first` on into one of their live chunks."""
        parts = list(zip(self.segments[first:], self._live[first:], strict=True))
        self._count((c for seg, live in parts for c, ok in zip(seg.chunks, live, strict=True) if not ok), -1)
        merged = rewrite(parts)
        self.segments[first:] = [merged]
        self._live[first:] = [np.ones(len(merged.chunks), dtype=bool)]

    def prepare_vectors(self) -> list[str]:
        """Hold full embeddings if the index is small enough, else drop them; return the live ids lacking one."""
        with self._lock:
            if sum(len(s.chunks) for s in self.segments) > self.exact_max:  # renamed: saved again without
                self.segments = [lexvectors.dropped(s) if lexvectors.holds(s) else s for s in self.segments]
                self._exact = False
                return []
            unknown = lexvectors.prepare(self.segments, self._live)
            self._exact = lexvectors.all_known(self.segments, self._live)
            return unknown

    def put_vectors(self, found: Mapping[str, StoredChunk], stamps: Mapping[str, str]) -> bool:
        """Hold chunks read with their embeddings (by id), under their articles' stamps; True if any changed."""
        with self._lock:
            segments, filled = lexvectors.put(self.segments, found)
            self.segments = segments
            for c in filled:
                self._stamps.setdefault((c.article_id, c.version), stamps.get(c.article_id, ""))
            self._exact = lexvectors.all_known(self.segments, self._live)
            return bool(filled)

    def nearest(self, vector: np.ndarray, n: int) -> list[tuple[StoredChunk, float]] | None:
        """Return the n live chunks nearest vector, exactly, with texts and cosines; None if any is not held."""
        with self._lock:
            return lexvectors.nearest(self.segments, self._live, vector, n) if self._exact else None

    def dead_share(self) -> float:
        """Return the share of indexed chunks that are not live."""
        total = sum(len(s.chunks) for s in self.segments)
        return 1 - self._docs / total if total else 0.0

    def compact(self) -> None:
        """Rewrite every segment into one of the live chunks."""
        with self._lock:
            if not self.segments:
                return
            self._merge(0)
            self.segments[0].weigh(self._length / self._docs if self._docs else 1.0)
            self._exact = lexvectors.all_known(self.segments, self._live)

    def search(self, query: str, n: int) -> list[tuple[StoredChunk, float]]:
        """Return up to n live chunks with a positive BM25 score, best first (ties by chunk id)."""
        return [(h.chunk, h.score) for h in self.hits(query, n)]

    def hits(self, query: str, n: int, vector: np.ndarray | None = None) -> list[Hit]:
        """Return `search`'s chunks as hits, bounding their cosine with vector if given."""
        with self._lock:  # an add in another thread may be merging segments
            return self._hits(query, n, vector)

    def _hits(self, query: str, n: int, vector: np.ndarray | None) -> list[Hit]:
        ids = [self.vocab[t] for t in terms(query) if t in self.vocab]  # repeats count, as in bm25s
        if not ids or n <= 0 or not self._docs:
            return []
        scores = [np.zeros(len(seg.chunks), dtype=np.float64) for seg in self.segments]
        for term in ids:
            df = int(self._df[term])
            if df <= 0:
                continue
            idf = math.log(1 + (self._docs - df + 0.5) / (df + 0.5))
            for seg, acc in zip(self.segments, scores, strict=True):
                rows, tfc = seg.postings(term)
                if len(rows):
                    acc[rows] += idf * tfc
        found = best_live(self.segments, self._live, scores, n)
        uppers: dict[tuple[int, int], float | None] = {}
        cosines: dict[tuple[int, int], float] = {}
        if vector is not None and self._exact:  # the cosines themselves, no bounds needed
            cosines = lexvectors.cosines(self.segments, [(s, r) for s, r, _ in found], vector)
        if vector is not None and not cosines:
            query64 = np.asarray(vector, dtype=np.float64)
            for n_seg in {s for s, _, _ in found}:
                picked = [r for s, r, _ in found if s == n_seg]
                seg = self.segments[n_seg]
                bounds = lexcodes.uppers(seg.codes, seg.scales, picked, query64)
                uppers |= zip(((n_seg, r) for r in picked), bounds, strict=True)
        segs = self.segments  # with their texts if held (cosines known)
        return [
            Hit(
                lexvectors.held(segs[s], r) if cosines else segs[s].chunks[r],
                score,
                uppers.get((s, r)),
                cosines.get((s, r)),
            )
            for s, r, score in found
        ]

    # -- on disk ---------------------------------------------------------------------------
    def save(self, directory: Path, token: str) -> None:
        """Write new segments and the manifest (atomically), then delete unreferenced segments."""
        directory.mkdir(parents=True, exist_ok=True)
        for seg in self.segments:
            if not (directory / f"{seg.name}.npz").exists():
                _write_segment(directory, seg)
        manifest = {
            "format": FORMAT,
            "token": token,
            "segments": [s.name for s in self.segments],
            "embedder": self.embedder,
            "stamps": [[aid, version, stamp] for (aid, version), stamp in self._stamps.items()],
        }
        tmp = directory / f".{_MANIFEST}.{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps(manifest), encoding="utf-8")
        tmp.replace(directory / _MANIFEST)
        keep = {s.name for s in self.segments}
        for path in directory.iterdir():
            if path.suffix in (".npz", ".json") and path.stem not in keep and path.name != _MANIFEST:
                path.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, embedder: str = "", exact_max: int = 0) -> tuple[LexicalIndex, str] | None:
        """Read a saved index and the token it was saved with; None if absent or unreadable.

        Its 8-bit embeddings are dropped unless they were taken from embeddings made by embedder.
        """
        try:
            manifest = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") not in _READS:
                return None
            index = cls(embedder, exact_max)
            codes = manifest.get("format") == FORMAT and manifest.get("embedder") == embedder
            if codes:
                index._stamps = {(str(a), str(v)): str(t) for a, v, t in manifest["stamps"]}
            for name in manifest["segments"]:
                seg = _read_segment(directory, name)
                if not codes or not fits(seg.codes, seg.scales, len(seg.chunks)):
                    seg.codes = seg.scales = None
                if not codes or not lexvectors.fits(seg):
                    lexvectors.drop(seg)
                index.segments.append(seg)
                index._count(seg.chunks, 1)
                for term in seg.new_terms:
                    index.vocab[term] = len(index.vocab)
                index._live.append(np.zeros(len(seg.chunks), dtype=bool))
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a corrupt index is rebuilt, never fatal
            log.warning("BM25 index at %s is unreadable (%s); rebuilding it", directory, exc)
            return None
        return index, str(manifest.get("token", ""))


def _bare(chunk: StoredChunk) -> StoredChunk:
    """Return a chunk as the index keeps it: no text (read from the store for the few shown).

    The texts of the bench's 100,008 chunks are 60 MB of str objects. The chunks of one article
    share their article id and version strings.
    """
    return StoredChunk(
        chunk.id, sys.intern(chunk.article_id), sys.intern(chunk.version), chunk.start, chunk.end, ""
    )


def _write_segment(directory: Path, seg: Segment) -> None:
    """Write one segment's arrays and chunks, each atomically."""
    tmp = directory / f".{seg.name}.{uuid.uuid4().hex[:8]}"
    with tmp.open("wb") as fh:
        arrays: dict[str, Any] = {
            "indptr": seg.indptr,
            "rows": seg.rows,
            "counts": seg.counts,
            "lengths": seg.lengths,
        }
        if seg.codes is not None and seg.scales is not None:
            arrays |= {"codes": seg.codes, "scales": seg.scales}
        if seg.vectors is not None:
            arrays["vectors"] = seg.vectors
        np.savez(fh, **arrays)
    chunks = [[getattr(c, f) for f in _FIELDS] for c in seg.chunks]
    meta = directory / f".{seg.name}.json.{uuid.uuid4().hex[:8]}"
    payload = {"chunks": chunks, "new_terms": seg.new_terms}
    if lexvectors.holds(seg):
        payload |= {"texts": seg.texts, "sentences": seg.sentences}
    meta.write_text(json.dumps(payload), encoding="utf-8")
    meta.replace(directory / f"{seg.name}.json")
    tmp.replace(directory / f"{seg.name}.npz")  # last: its presence means the segment is whole


def _read_segment(directory: Path, name: str) -> Segment:
    """Read one segment written by `_write_segment`."""
    with np.load(directory / f"{name}.npz") as arrays:
        indptr, rows, counts, lengths = (arrays[k] for k in ("indptr", "rows", "counts", "lengths"))
        codes, scales, vectors = (arrays.get(k) for k in ("codes", "scales", "vectors"))
    payload: dict[str, Any] = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
    chunks = [_bare(StoredChunk(r[0], r[1], r[2], int(r[3]), int(r[4]), "")) for r in payload["chunks"]]
    seg = Segment(name, chunks, lengths, indptr, rows, counts, payload["new_terms"], np.diff(indptr))
    seg.codes, seg.scales, seg.vectors = codes, scales, vectors
    seg.texts, seg.sentences = payload.get("texts"), payload.get("sentences")
    return seg
