"""Sentence vectors packed small enough to ride in a chunk's metadata."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SENTENCE_VECTORS = "sentence_vectors"


def pack_vectors(rows: np.ndarray) -> str:
    """Pack unit vectors as int8 with a float32 scale per row: a quarter of float32's bytes."""
    import numpy as np

    rows = np.asarray(rows, dtype=np.float32)
    if rows.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {rows.shape}")
    scale = np.abs(rows).max(axis=1, initial=0.0) / 127.0
    safe = np.where(scale > 0, scale, 1.0)
    quantized = np.clip(np.round(rows / safe[:, None]), -127, 127).astype(np.int8)
    header = np.array(rows.shape, dtype="<u2").tobytes()
    return base64.b64encode(header + scale.astype("<f4").tobytes() + quantized.tobytes()).decode("ascii")


def unpack_vectors(blob: str) -> np.ndarray | None:
    """Undo pack_vectors; None if the blob is malformed."""
    import numpy as np

    try:
        raw = base64.b64decode(blob, validate=True)
        n, dim = (int(x) for x in np.frombuffer(raw[:4], dtype="<u2"))
        if len(raw) != 4 + 4 * n + n * dim:
            return None
        scale = np.frombuffer(raw[4 : 4 + 4 * n], dtype="<f4")
        quantized = np.frombuffer(raw[4 + 4 * n :], dtype=np.int8).reshape(n, dim)
    except (ValueError, TypeError):
        return None
    rows: np.ndarray = (quantized.astype(np.float32) * scale[:, None]).astype(np.float32)
    return rows
