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
(`Hit.upper`), so the search reads the exact embeddings only of hits that could rank.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.store import StoredChunk
from retrieval.text import terms

log = logging.getLogger(__name__)

K1, B = 1.5, 0.75  # bm25s's defaults
FORMAT = 4  # 4: with 8-bit embeddings if known; 3: without; 2: with texts. All read.
_READS = (2, 3, FORMAT)
_MANIFEST = "segments.json"
_FIELDS = ("id", "article_id", "version", "start", "end")


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk BM25 found, its score, and an upper bound of its cosine with the query (None: unknown)."""

    chunk: StoredChunk
    score: float
    upper: float | None = None


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (int8 codes, float32 scales) with each row about codes * scale, off by <= scale / 2."""
    top = np.abs(vectors).max(axis=1)
    scales = np.where(top > 0, top / 127, 1.0).astype(np.float32)
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales


def _uppers(seg: Segment, rows: list[int], query: np.ndarray) -> list[float | None]:
    """Return upper bounds of the cosines of some of a segment's chunks with a query (None: unknown).

    Each dimension's code is off by at most half the chunk's scale, so the dot product is off by at
    most scale * |query|_1 / 2 (1e-5 more for the arithmetic).
    """
    if seg.codes is None or seg.scales is None:
        return [None] * len(rows)
    scales = seg.scales[rows].astype(np.float64)
    dots = seg.codes[rows].astype(np.float64) @ query
    return list(scales * (dots + float(np.abs(query).sum()) / 2) + 1e-5)


@dataclass
class Segment:
    """Chunks indexed together: term counts by column (term id), one row per chunk."""

    name: str
    chunks: list[StoredChunk]
    lengths: np.ndarray  # tokens per chunk
    indptr: np.ndarray  # CSC over term ids known when the segment was built
    rows: np.ndarray
    counts: np.ndarray
    new_terms: list[str]  # the vocabulary's entries this segment introduced, in id order
    df: np.ndarray  # chunks of this segment containing each term
    # The term-frequency part of each entry's score for one average length (as bm25s stores it).
    tfc: np.ndarray | None = None
    tfc_avg: float = 0.0
    codes: np.ndarray | None = None  # int8 embeddings, one row per chunk (None: not known)
    scales: np.ndarray | None = None  # per chunk: its embedding is about codes * scale

    def weigh(self, avg: float) -> None:
        """Compute each entry's term-frequency component for the average chunk length avg."""
        if self.tfc is None or self.tfc_avg != avg:
            tf = self.counts.astype(np.float64)
            norm = K1 * (1 - B + B * self.lengths[self.rows] / avg)
            self.tfc, self.tfc_avg = (tf / (norm + tf)).astype(np.float32), avg

    @property
    def terms_known(self) -> int:
        """Return how many term ids the segment has columns for."""
        return len(self.indptr) - 1

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (rows, term-frequency components) of one term (empty if the segment predates it)."""
        if self.tfc is None:
            raise RuntimeError("weigh() the segment first")
        if term >= self.terms_known:
            return self.rows[:0], self.tfc[:0]
        lo, hi = self.indptr[term], self.indptr[term + 1]
        return self.rows[lo:hi], self.tfc[lo:hi]


def _from_coo(rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
    """Return (indptr, rows, counts) column-major; entries must come sorted by row within a column."""
    order = np.argsort(cols, kind="stable")  # stable: rows stay ascending within each column
    indptr = np.zeros(width + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=width), out=indptr[1:])
    # uint16 counts: a term repeated more than 65,535 times in one chunk is counted 65,535 times.
    return indptr, rows[order].astype(np.int32), np.minimum(counts[order], 65535).astype(np.uint16)


def _columns(seg: Segment) -> np.ndarray:
    """Return the term id of every entry of a segment."""
    return np.repeat(np.arange(seg.terms_known), np.diff(seg.indptr))


def _rewrite(parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment:
    """Return one segment holding the live chunks of several, in order."""
    width = max(seg.terms_known for seg, _ in parts)
    chunks: list[StoredChunk] = []
    rows, cols, counts, lengths, new_terms = [], [], [], [], []
    offset = 0
    for seg, live in parts:
        renumber = np.cumsum(live) - 1 + offset
        keep = live[seg.rows]
        rows.append(renumber[seg.rows[keep]])
        cols.append(_columns(seg)[keep])
        counts.append(seg.counts[keep])
        lengths.append(seg.lengths[live])
        chunks += [c for c, ok in zip(seg.chunks, live, strict=True) if ok]
        new_terms += seg.new_terms
        offset += int(live.sum())
    indptr, r, c = _from_coo(np.concatenate(rows), np.concatenate(cols), np.concatenate(counts), width)
    merged = Segment(
        uuid.uuid4().hex[:12], chunks, np.concatenate(lengths), indptr, r, c, new_terms, np.diff(indptr)
    )
    if all(seg.codes is not None and seg.scales is not None for seg, _ in parts):
        merged.codes = np.concatenate([seg.codes[live] for seg, live in parts])  # type: ignore[index]
        merged.scales = np.concatenate([seg.scales[live] for seg, live in parts])  # type: ignore[index]
    return merged


class LexicalIndex:
    """BM25 over chunks, in segments; `set_live` says which chunks count (the visible versions)."""

    def __init__(self) -> None:
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

    def add(self, chunks: Sequence[StoredChunk]) -> None:
        """Index chunks as a new segment; they count from the next `set_live` that names them."""
        if not chunks:
            return
        first_new = len(self.vocab)
        ids: list[np.ndarray] = []
        for chunk in chunks:
            words = terms(chunk.text) or ["\x00"]  # an empty chunk still has length 1, as in bm25s
            ids.append(np.fromiter((self.vocab.setdefault(w, len(self.vocab)) for w in words), np.int64))
        width = len(self.vocab)
        lengths = np.fromiter((len(x) for x in ids), np.int64, len(ids))
        keys = np.repeat(np.arange(len(ids), dtype=np.int64), lengths) * width + np.concatenate(ids)
        uniq, counts = np.unique(keys, return_counts=True)  # sorted by row, then term
        indptr, rows, tf = _from_coo(uniq // width, uniq % width, counts, width)
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
        self.segments.append(seg)
        self._live.append(np.zeros(len(chunks), dtype=bool))
        self._count(seg.chunks, 1)

    def set_live(self, versions: Mapping[str, str]) -> bool:
        """Count exactly the chunks of the visible versions; merge segments; True if segments changed."""
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
                df[: seg.terms_known] -= np.bincount(_columns(seg)[dead], minlength=seg.terms_known)
        self._df, self._docs, self._length = df, docs, length
        # Dropping chunks that are not live changes none of the statistics above.
        merged = False
        while len(self.segments) > 1 and 2 * len(self.segments[-1].chunks) >= len(self.segments[-2].chunks):
            self._merge(len(self.segments) - 2)
            merged = True
        for seg in self.segments:
            seg.weigh(length / docs if docs else 1.0)
        return merged

    def _merge(self, first: int) -> None:
        """Merge the segments from `first` on into one of their live chunks."""
        parts = list(zip(self.segments[first:], self._live[first:], strict=True))
        self._count((c for seg, live in parts for c, ok in zip(seg.chunks, live, strict=True) if not ok), -1)
        merged = _rewrite(parts)
        self.segments[first:] = [merged]
        self._live[first:] = [np.ones(len(merged.chunks), dtype=bool)]

    def dead_share(self) -> float:
        """Return the share of indexed chunks that are not live."""
        total = sum(len(s.chunks) for s in self.segments)
        return 1 - self._docs / total if total else 0.0

    def compact(self) -> None:
        """Rewrite every segment into one of the live chunks."""
        if self.segments:
            self._merge(0)
            self.segments[0].weigh(self._length / self._docs if self._docs else 1.0)

    def search(self, query: str, n: int) -> list[tuple[StoredChunk, float]]:
        """Return up to n live chunks with a positive BM25 score, best first (ties by chunk id)."""
        return [(h.chunk, h.score) for h in self.hits(query, n)]

    def hits(self, query: str, n: int, vector: np.ndarray | None = None) -> list[Hit]:
        """Return `search`'s chunks as hits, bounding their cosine with vector if given."""
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
        found = self._top(scores, n)
        uppers: dict[tuple[int, int], float | None] = {}
        if vector is not None:
            query64 = np.asarray(vector, dtype=np.float64)
            for n_seg in {s for s, _, _ in found}:
                picked = [r for s, r, _ in found if s == n_seg]
                bounds = _uppers(self.segments[n_seg], picked, query64)
                uppers |= zip(((n_seg, r) for r in picked), bounds, strict=True)
        return [Hit(self.segments[s].chunks[r], score, uppers.get((s, r))) for s, r, score in found]

    def _top(self, scores: list[np.ndarray], n: int) -> list[tuple[int, int, float]]:
        """Return (segment, row, score) of the n best live chunks (ties by chunk id)."""
        flat = np.concatenate([np.where(live, s, 0.0) for s, live in zip(scores, self._live, strict=True)])
        positive = np.flatnonzero(flat > 0)
        if len(positive) > n:  # the top n and anything tied with the n-th, then ordered by id
            cut = np.partition(flat[positive], len(positive) - n)[len(positive) - n]
            positive = positive[flat[positive] >= cut]
        starts = np.cumsum([0] + [len(seg.chunks) for seg in self.segments])
        found = []
        for i in positive:
            n_seg = int(np.searchsorted(starts, i, side="right")) - 1
            found.append((n_seg, int(i - starts[n_seg]), float(flat[i])))
        found.sort(key=lambda f: (-f[2], self.segments[f[0]].chunks[f[1]].id))
        return found[:n]

    # -- on disk ---------------------------------------------------------------------------
    def save(self, directory: Path, token: str) -> None:
        """Write new segments and the manifest (atomically), then delete unreferenced segments."""
        directory.mkdir(parents=True, exist_ok=True)
        for seg in self.segments:
            if not (directory / f"{seg.name}.npz").exists():
                _write_segment(directory, seg)
        manifest = {"format": FORMAT, "token": token, "segments": [s.name for s in self.segments]}
        tmp = directory / f".{_MANIFEST}.{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps(manifest), encoding="utf-8")
        tmp.replace(directory / _MANIFEST)
        keep = {s.name for s in self.segments}
        for path in directory.iterdir():
            if path.suffix in (".npz", ".json") and path.stem not in keep and path.name != _MANIFEST:
                path.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path) -> tuple[LexicalIndex, str] | None:
        """Read a saved index and the token it was saved with; None if absent or unreadable."""
        try:
            manifest = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") not in _READS:
                return None
            index = cls()
            for name in manifest["segments"]:
                seg = _read_segment(directory, name)
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
        np.savez(fh, **arrays)
    chunks = [[getattr(c, f) for f in _FIELDS] for c in seg.chunks]
    meta = directory / f".{seg.name}.json.{uuid.uuid4().hex[:8]}"
    meta.write_text(json.dumps({"chunks": chunks, "new_terms": seg.new_terms}), encoding="utf-8")
    meta.replace(directory / f"{seg.name}.json")
    tmp.replace(directory / f"{seg.name}.npz")  # last: its presence means the segment is whole


def _read_segment(directory: Path, name: str) -> Segment:
    """Read one segment written by `_write_segment`."""
    with np.load(directory / f"{name}.npz") as arrays:
        indptr, rows, counts, lengths = (arrays[k] for k in ("indptr", "rows", "counts", "lengths"))
        codes, scales = (arrays.get(k) for k in ("codes", "scales"))
    payload: dict[str, Any] = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
    chunks = [_bare(StoredChunk(r[0], r[1], r[2], int(r[3]), int(r[4]), "")) for r in payload["chunks"]]
    seg = Segment(name, chunks, lengths, indptr, rows, counts, payload["new_terms"], np.diff(indptr))
    seg.codes, seg.scales = codes, scales
    return seg
