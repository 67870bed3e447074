"""8-bit copies of chunk embeddings kept by the BM25 index, and the cosine bounds they give.

A segment's codes bound its chunks' cosines only while they were taken from the embeddings
stored now. The index therefore keeps, per (article, version), the stamp they were taken under
(the article's title: the chunk embeddings include it), and the whole index keeps the embedder's
identity (model, backend, title setting) in its manifest: a mismatch drops the codes, and a chunk
without codes has no bound (it is read, as without this index). A row's codes are dropped by
setting its scale to NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (int8 codes, float32 scales) with each row about codes * scale, off by <= scale / 2."""
    top = np.abs(vectors).max(axis=1)
    scales = np.where(top > 0, top / 127, 1.0).astype(np.float32)
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales


def fits(codes: np.ndarray | None, scales: np.ndarray | None, rows: int) -> bool:
    """Tell whether codes and scales are well formed for a segment of so many chunks."""
    return (
        codes is not None
        and scales is not None
        and codes.ndim == 2
        and codes.dtype == np.int8
        and codes.shape[0] == rows
        and scales.shape == (rows,)
    )


def uppers(
    codes: np.ndarray | None, scales: np.ndarray | None, rows: Sequence[int], query: np.ndarray
) -> list[float | None]:
    """Return upper bounds of the cosines of some chunks with a query (None: unknown).

    Each dimension's code is off by at most half the chunk's scale, so the dot product is off by
    at most scale * |query|_1 / 2 (1e-5 more for the arithmetic). Codes of another dimension than
    the query's (another model) give no bounds.
    """
    if codes is None or scales is None or codes.shape[1] != len(query):
        return [None] * len(rows)
    picked = list(rows)
    chosen = scales[picked].astype(np.float64)
    dots = codes[picked].astype(np.float64) @ query
    bounds = chosen * (dots + float(np.abs(query).sum()) / 2) + 1e-5
    return [None if math.isnan(b) else float(b) for b in bounds]


def without_rows(scales: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """Return scales with the rows in the mask drop marked as having no codes."""
    out = scales.copy()
    out[drop] = np.nan
    return out
