"""A segment of the BM25 index: term counts of some chunks, column-major, and their merge."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.store import StoredChunk

if TYPE_CHECKING:
    from retrieval.lexfirst import CodeScan

Ref = weakref.ref[np.ndarray]
K1, B = 1.5, 0.75  # bm25s's defaults


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
    vectors: np.ndarray | None = None  # unit float32 embeddings, NaN rows unknown (lexvectors.py)
    texts: list[str] | None = None  # with vectors: each chunk's text and packed sentence vectors
    sentences: list[str | None] | None = None
    # The first pass over the codes (lexfirst.py), with the arrays it was built from (lexvectors.py).
    # Neither is carried by `dataclasses.replace` (init=False): a segment made from another builds its own.
    scan: tuple[Ref, CodeScan | None] | None = field(default=None, init=False, repr=False, compare=False)
    # Held chunks built so far (lexvectors.held), with the texts and sentences they were built from.
    shown: tuple[Any, Any, Any, list[StoredChunk | None]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

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


def from_coo(rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
    """Return (indptr, rows, counts) column-major; entries must come sorted by row within a column."""
    order = np.argsort(cols, kind="stable")  # stable: rows stay ascending within each column
    indptr = np.zeros(width + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=width), out=indptr[1:])
    # uint16 counts: a term repeated more than 65,535 times in one chunk is counted 65,535 times.
    return indptr, rows[order].astype(np.int32), np.minimum(counts[order], 65535).astype(np.uint16)


def columns(seg: Segment) -> np.ndarray:
    """Return the term id of every entry of a segment."""
    return np.repeat(np.arange(seg.terms_known), np.diff(seg.indptr))


def rewrite(parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment:
    """Return one segment holding the live chunks of several, in order."""
    width = max(seg.terms_known for seg, _ in parts)
    chunks: list[StoredChunk] = []
    rows, cols, counts, lengths, new_terms = [], [], [], [], []
    offset = 0
    for seg, live in parts:
        renumber = np.cumsum(live) - 1 + offset
        keep = live[seg.rows]
        rows.append(renumber[seg.rows[keep]])
        cols.append(columns(seg)[keep])
        counts.append(seg.counts[keep])
        lengths.append(seg.lengths[live])
        chunks += [c for c, ok in zip(seg.chunks, live, strict=True) if ok]
        new_terms += seg.new_terms
        offset += int(live.sum())
    indptr, r, c = from_coo(np.concatenate(rows), np.concatenate(cols), np.concatenate(counts), width)
    merged = Segment(
        uuid.uuid4().hex[:12], chunks, np.concatenate(lengths), indptr, r, c, new_terms, np.diff(indptr)
    )
    if all(seg.codes is not None and seg.scales is not None for seg, _ in parts):
        merged.codes = np.concatenate([seg.codes[live] for seg, live in parts])  # type: ignore[index]
        merged.scales = np.concatenate([seg.scales[live] for seg, live in parts])  # type: ignore[index]
    if (
        all(
            seg.vectors is not None and seg.texts is not None and seg.sentences is not None
            for seg, _ in parts
        )
        and len({seg.vectors.shape[1] for seg, _ in parts if seg.vectors is not None}) == 1
    ):
        merged.vectors = np.concatenate([seg.vectors[live] for seg, live in parts])  # type: ignore[index]
        merged.texts = [t for seg, live in parts for t, ok in zip(seg.texts, live, strict=True) if ok]  # type: ignore[arg-type]
        merged.sentences = [b for seg, live in parts for b, ok in zip(seg.sentences, live, strict=True) if ok]  # type: ignore[arg-type]
    return merged


def best_live(
    segments: Sequence[Segment], lives: Sequence[np.ndarray], scores: Sequence[np.ndarray], n: int
) -> list[tuple[int, int, float]]:
    """Return (segment, row, score) of the n best live chunks with a positive score (ties by chunk id)."""
    where, rows, flat = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    for s, (live, acc) in enumerate(zip(lives, scores, strict=True)):
        found = np.flatnonzero(acc > 0)
        found = found[live[found]]  # only chunks with a positive score: no pass over every row's score
        where = np.concatenate([where, np.full(len(found), s)])
        rows, flat = np.concatenate([rows, found]), np.concatenate([flat, acc[found]])
    if len(flat) > n:  # the top n and anything tied with the n-th, then ordered by id
        keep = flat >= np.partition(flat, len(flat) - n)[len(flat) - n]
        where, rows, flat = where[keep], rows[keep], flat[keep]
    best = list(zip(where.tolist(), rows.tolist(), flat.tolist(), strict=True))
    best.sort(key=lambda f: (-f[2], segments[f[0]].chunks[f[1]].id))
    return best[:n]
