"""What a small knowledge base's BM25 index holds besides BM25: exact dense search without the store.

Up to `search.exact_max_chunks` indexed chunks, each segment keeps, per chunk, its embedding as a
float32 row scaled to unit length (Chroma's cosine space compares them so), its text and its
packed sentence vectors. A row of NaN is a chunk not held yet: the knowledge base reads those of
live chunks from the store (`KnowledgeBase`), and until every live chunk is held the search asks
Chroma, as above the size. A chunk's row is dropped with the codes of its (article, version) when
its stamp changes (lexcodes.py): the same chunk ids then hold other embeddings.

One product of the query with every row and a partial sort give the exact nearest chunks (HNSW's
are approximate), and the shown chunks' texts need no read: ~1 ms saved against a Chroma query
(~1.5 ms at 10,000 chunks, right after the query's embedding) plus a read of the shown chunks
(~1 ms). The cost is memory: ~3.6 KB a chunk (1.5 KB of it the embedding).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
import weakref
from collections.abc import Mapping, Sequence

import numpy as np

from retrieval.lexcodes import quantize
from retrieval.lexfirst import MIN_ROWS, CodeScan
from retrieval.lexsegment import Segment
from retrieval.store import StoredChunk

log = logging.getLogger(__name__)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length (zero rows stay zero)."""
    rows = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: np.ndarray = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return out


def unit(vector: np.ndarray) -> np.ndarray:
    """Return a query vector as float32 of unit length."""
    row: np.ndarray = unit_rows(np.asarray(vector, dtype=np.float32)[None, :])[0]
    return row


def unknown_rows(vectors: np.ndarray) -> np.ndarray:
    """Return the mask of rows not held (NaN)."""
    return np.isnan(vectors[:, 0]) if vectors.shape[1] else np.ones(len(vectors), dtype=bool)


def holds(seg: Segment) -> bool:
    """Tell whether a segment has rows (some may be unknown)."""
    return seg.vectors is not None and seg.texts is not None and seg.sentences is not None


def fits(seg: Segment) -> bool:
    """Tell whether a read segment's rows are well formed."""
    n, v = len(seg.chunks), seg.vectors
    return (
        v is not None
        and v.ndim == 2
        and v.dtype == np.float32
        and len(v) == n
        and isinstance(seg.texts, list)
        and len(seg.texts) == n
        and isinstance(seg.sentences, list)
        and len(seg.sentences) == n
    )


def held(seg: Segment, row: int) -> StoredChunk:
    """Return a chunk of a segment that holds it, with its text and packed sentence vectors (built once)."""
    texts, sentences, chunks = seg.texts, seg.sentences, seg.chunks
    shown = seg.shown
    if shown is None or shown[0] is not texts or shown[1] is not sentences or shown[2] is not chunks:
        shown = seg.shown = (texts, sentences, chunks, [None] * len(chunks))
    got = shown[3][row]
    if got is None:
        c = chunks[row]
        got = StoredChunk(c.id, c.article_id, c.version, c.start, c.end, texts[row], None, sentences[row])  # type: ignore[index]
        shown[3][row] = got
    return got


def take(seg: Segment, chunks: Sequence[StoredChunk]) -> None:
    """Give a new segment the rows of its chunks (read with their embeddings)."""
    seg.vectors = unit_rows(np.asarray([c.vector for c in chunks]))
    seg.texts = [c.text for c in chunks]
    seg.sentences = [c.sentences for c in chunks]


def drop(seg: Segment) -> None:
    """Let a segment hold no rows."""
    seg.vectors = seg.texts = seg.sentences = None


def dropped(seg: Segment) -> Segment:
    """Return a segment like seg holding no rows, under a new name (so that its files are written again)."""
    return dataclasses.replace(seg, name=uuid.uuid4().hex[:12], vectors=None, texts=None, sentences=None)


def forget(seg: Segment, rows: np.ndarray) -> dict[str, object]:
    """Return the fields that make the rows in the mask unknown (to `dataclasses.replace` with)."""
    if not holds(seg):
        return {}
    vectors = seg.vectors.copy()  # type: ignore[union-attr]
    vectors[rows] = np.nan
    return {"vectors": vectors}


def best(scores: np.ndarray, n: int) -> np.ndarray:
    """Return the positions of the n highest finite scores, highest first (ties by position)."""
    scores = np.where(np.isnan(scores), -np.inf, scores)  # a corrupt row never wins, nor breaks the cut
    if len(scores) > n > 0:
        top = np.flatnonzero(scores >= kth_highest(scores, n))  # the n best and any tied with the n-th
    else:
        top = np.arange(len(scores)) if n > 0 else np.arange(0)
    top = top[np.isfinite(scores[top])]
    ordered: np.ndarray = top[np.argsort(-scores[top], kind="stable")][:n]
    return ordered


def all_known(segments: Sequence[Segment], lives: Sequence[np.ndarray]) -> bool:
    """Tell whether every live chunk is held, with embeddings of one dimension."""
    dims = {seg.vectors.shape[1] for seg in segments if seg.vectors is not None}
    return (
        bool(segments)
        and len(dims) == 1
        and all(
            holds(seg) and not (live & unknown_rows(seg.vectors)).any()  # type: ignore[arg-type]
            for seg, live in zip(segments, lives, strict=True)
        )
    )


def prepare(segments: Sequence[Segment], lives: Sequence[np.ndarray]) -> list[str]:
    """Give every segment rows (unknown where missing); return the ids of live chunks not held."""
    dims = [s.vectors.shape[1] for s in segments if holds(s) and s.vectors.shape[1]]  # type: ignore[union-attr]
    dim = max(set(dims), key=dims.count) if dims else 0  # another dimension: another model's rows
    for seg in segments:
        if not holds(seg) or seg.vectors.shape[1] != dim:  # type: ignore[union-attr]
            n = len(seg.chunks)
            seg.vectors, seg.texts, seg.sentences = _unknown(n, dim), [""] * n, [None] * n
    return [
        seg.chunks[r].id
        for seg, live in zip(segments, lives, strict=True)
        for r in np.flatnonzero(live & unknown_rows(seg.vectors))  # type: ignore[arg-type]
    ]


def put(
    segments: Sequence[Segment], found: Mapping[str, StoredChunk]
) -> tuple[list[Segment], list[StoredChunk]]:
    """Return the segments with the chunks found (read with embeddings) held (renamed: saved again), and those."""
    found = {cid: c for cid, c in found.items() if c.vector is not None}
    if not found:
        return list(segments), []
    dim = len(next(iter(found.values())).vector)  # type: ignore[arg-type]
    out: list[Segment] = []
    filled: list[StoredChunk] = []
    for seg in segments:
        rows = [r for r, c in enumerate(seg.chunks) if c.id in found]
        if not holds(seg):
            out.append(seg)
            continue
        if not rows:  # nothing found here: still rows of the found width (a merge concatenates them)
            same = seg.vectors.shape[1] == dim  # type: ignore[union-attr]
            unknown = _unknown(len(seg.chunks), dim)
            out.append(seg if same else dataclasses.replace(seg, name=uuid.uuid4().hex[:12], vectors=unknown))
            continue
        vectors = seg.vectors.copy() if seg.vectors.shape[1] == dim else _unknown(len(seg.chunks), dim)  # type: ignore[union-attr]
        texts, sentences = list(seg.texts), list(seg.sentences)  # type: ignore[arg-type]
        got = [found[seg.chunks[r].id] for r in rows]
        vectors[rows] = unit_rows(np.asarray([c.vector for c in got]))
        for r, c in zip(rows, got, strict=True):
            texts[r], sentences[r] = c.text, c.sentences
        name = uuid.uuid4().hex[:12]
        out.append(dataclasses.replace(seg, name=name, vectors=vectors, texts=texts, sentences=sentences))
        filled += [seg.chunks[r] for r in rows]
    return out, filled


def nearest(
    segments: Sequence[Segment], lives: Sequence[np.ndarray], vector: np.ndarray, n: int
) -> list[tuple[StoredChunk, float]] | None:
    """Return the n live chunks of highest cosine with vector, best first, held, with their cosines.

    None if the dimensions differ.
    """
    query = unit(vector)
    if n <= 0 or any(seg.vectors is None or seg.vectors.shape[1] != len(query) for seg in segments):
        return None
    found = narrowed(segments, lives, query, n)
    if found is None:  # every row's product
        parts = []
        for seg, live in zip(segments, lives, strict=True):
            scores = seg.vectors @ query  # type: ignore[operator]
            scores[~live] = -np.inf  # other versions, and rows not known (NaN)
            parts.append(scores)
        flat = parts[0] if len(parts) == 1 else np.concatenate(parts)
        positions = best(flat, n)
        found = positions, flat[positions]
    return [
        (held(segments[s], r), score)
        for (_, (s, r)), score in zip(locate(segments, found[0]), found[1].tolist(), strict=True)
    ]


def narrowed(
    segments: Sequence[Segment], lives: Sequence[np.ndarray], query: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the positions of the n best live rows, best first (ties by position), and their cosines.

    Big segments' codes bound their rows' cosines first (lexfirst.py); only the rows whose upper
    bound reaches the n-th highest lower bound can be among the n best, and those alone get their
    float32 product. None when no segment has codes to do so, or they narrow too little.
    """
    scans = [code_scan(seg) for seg in segments]
    if all(scan is None for scan in scans) or not float(query @ query) > 0:
        return None
    lows, highs, exact = [], [], []
    for seg, live, scan in zip(segments, lives, scans, strict=True):
        found = scan.bounds(query, live) if scan is not None else None
        if found is None:  # small: the product itself
            products: np.ndarray = np.where(live, seg.vectors @ query, -np.inf).astype(np.float32)  # type: ignore[operator]
            low, high, known = products, products, products
        else:
            (low, high), known = found, None
        lows.append(low)
        highs.append(high)
        exact.append(known)
    lower, upper = np.concatenate(lows), np.concatenate(highs)
    live_all = np.concatenate(lives)
    if len(lower) <= n:
        return None
    cut = kth_highest(lower, n)  # n rows score at least this
    picked = np.flatnonzero(upper >= cut)
    picked = picked[live_all[picked]]
    if not np.isfinite(cut) or len(picked) > len(lower) // 8:
        return None
    scores = np.empty(len(picked), dtype=np.float32)
    starts = np.cumsum([0] + [len(seg.chunks) for seg in segments])
    for n_seg, (seg, known) in enumerate(zip(segments, exact, strict=True)):
        mine = (picked >= starts[n_seg]) & (picked < starts[n_seg + 1])
        rows = picked[mine] - starts[n_seg]
        if len(rows):
            scores[mine] = known[rows] if known is not None else rescored(seg.vectors, rows, query)  # type: ignore[arg-type]
    order = np.argsort(-scores, kind="stable")[:n]
    return picked[order], scores[order]


def kth_highest(values: np.ndarray, k: int) -> float:
    """Return the k-th highest of values (1 <= k <= len), partitioning only the values that can be it."""
    sample = values[:: max(1, len(values) // (16 * k))]  # its k-th highest is at most the whole's
    if len(sample) > k:
        values = values[values >= np.partition(sample, len(sample) - k)[len(sample) - k]]
    return float(np.partition(values, len(values) - k)[len(values) - k])


def code_scan(seg: Segment) -> CodeScan | None:
    """Return the first pass over a held segment's rows (built once per rows), or None.

    Its codes are taken from the held unit rows themselves, not the segment's stored codes: those
    may be missing for re-titled rows, or be of embeddings that are not of unit length.
    """
    vectors = seg.vectors
    if vectors is None:
        return None
    known = seg.scan
    if known is not None and known[0]() is vectors:
        return known[1]
    scan = None
    if len(vectors) >= MIN_ROWS:  # below, no first pass: nothing to quantise
        clean = np.nan_to_num(vectors)
        codes, scales = quantize(clean)
        scales[~np.isfinite(vectors).all(axis=1)] = np.nan  # rows not held: no bound
        scan = CodeScan.build(vectors, codes, scales)
        if scan is not None and not _rescores_whole(clean):
            log.info("no 8-bit first pass: this BLAS rounds a few rows' products unlike all rows'")
            scan = None
    seg.scan = (weakref.ref(vectors), scan)
    return scan


def _rescores_whole(vectors: np.ndarray) -> bool:
    """Tell whether `rescored` gives these rows (no NaN) the products the whole product gives them."""
    query = unit_rows(np.random.default_rng(len(vectors)).standard_normal((1, vectors.shape[1])))[0]
    whole = vectors @ query
    rows = np.concatenate(
        [np.arange(min(8, len(vectors))), np.arange(max(0, len(vectors) - 8), len(vectors))]
    )
    return bool(np.array_equal(rescored(vectors, rows, query), whole[rows]))


def rescored(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Return the products of some rows with the query as the product of all rows gives them, bit for bit.

    OpenBLAS sums a matrix's rows four at a time with one kernel, and its last len % 4 rows with
    another that rounds differently: the picked rows are computed in the same two groups.
    """
    whole = len(vectors) - len(vectors) % 4
    out = np.empty(len(rows), dtype=np.float32)
    head = rows < whole
    if head.any():
        picked = rows[head]
        padded = np.concatenate([picked, np.repeat(picked[-1:], -len(picked) % 4)])
        out[head] = (vectors[padded] @ query)[: len(picked)]
    if not head.all():  # with the last group of four before them: a product of one row rounds otherwise
        first = max(0, whole - 4)
        out[~head] = (vectors[first:] @ query)[rows[~head] - first]
    return out


def locate(segments: Sequence[Segment], positions: np.ndarray) -> list[tuple[int, tuple[int, int]]]:
    """Return each position over all segments' rows with its (segment, row)."""
    starts = np.cumsum([0] + [len(seg.chunks) for seg in segments])
    segs = np.searchsorted(starts, positions, side="right") - 1
    return [(int(i), (int(s), int(i - starts[s]))) for i, s in zip(positions, segs, strict=True)]


def cosines(
    segments: Sequence[Segment], rows: Sequence[tuple[int, int]], vector: np.ndarray
) -> dict[tuple[int, int], float]:
    """Return the cosine of the query with each (segment, row) (none if the dimensions differ)."""
    query = unit(vector)
    if any(seg.vectors is None or seg.vectors.shape[1] != len(query) for seg in segments):
        return {}
    out: dict[tuple[int, int], float] = {}
    for n in {s for s, _ in rows}:
        picked = [r for s, r in rows if s == n]
        out |= zip(((n, r) for r in picked), (segments[n].vectors[picked] @ query).tolist(), strict=True)  # type: ignore[index]
    return out


def _unknown(count: int, dim: int) -> np.ndarray:
    return np.full((count, dim), np.nan, dtype=np.float32)


def one_blas_thread() -> None:
    """Let numpy's BLAS use one thread: its threads wait on each other whenever a core is busy.

    A product of 10,000 x 384 floats with a vector takes 0.3-0.5 ms on one thread, and 7-15 ms
    (p95 10-28 ms) on two when another process holds one of the machine's two cores.
    """
    from threadpoolctl import ThreadpoolController

    for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
        if "numpy" in lib.filepath:  # numpy's own copy; torch's threads are torch's business
            lib.set_num_threads(1)
