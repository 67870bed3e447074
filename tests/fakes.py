"""Deterministic stand-ins for unit tests: an embedder that hashes words."""

from __future__ import annotations

import hashlib

import numpy as np

from retrieval.embedding import Embedder
from retrieval.text import terms


class HashEmbedder(Embedder):
    """Bag of hashed stemmed terms: texts sharing words get similar unit vectors."""

    def __init__(self, dimension: int = 256, name: str = "fake-hash") -> None:
        self.dimension = dimension
        self.name = name
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out
