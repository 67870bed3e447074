"""BM25's n best live chunks: positive scores only, ties by chunk id, across segments."""

from __future__ import annotations

import numpy as np

from retrieval.lexsegment import Segment, best_live
from retrieval.store import StoredChunk


def _segment(name: str, count: int, rng: np.random.Generator) -> Segment:
    ids = [f"a{rng.integers(0, 10**6):06d}:v:{i}" for i in range(count)]
    chunks = [StoredChunk(cid, cid.split(":")[0], "v", 0, 1, "") for cid in ids]
    empty = np.zeros(0, dtype=np.int64)
    return Segment(
        name, chunks, np.ones(count, dtype=np.int64), np.zeros(1, dtype=np.int64), empty, empty, [], empty
    )


def test_best_live_equals_a_sort_of_every_live_positive_score() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        segments = [_segment("a", 500, rng), _segment("b", 120, rng)]
        lives = [rng.random(500) < 0.8, rng.random(120) < 0.9]
        scores = [
            np.round(rng.random(500) * 4, 1) * (rng.random(500) < 0.3),
            np.round(rng.random(120) * 4, 1),
        ]
        want = sorted(
            (
                (s, r, float(acc[r]))
                for s, (live, acc) in enumerate(zip(lives, scores, strict=True))
                for r in range(len(acc))
                if live[r] and acc[r] > 0
            ),
            key=lambda f: (-f[2], segments[f[0]].chunks[f[1]].id),
        )
        for n in (1, 5, 30, 1000):
            assert best_live(segments, lives, scores, n) == want[:n]
