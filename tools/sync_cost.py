"""Measure what Chroma's HNSW sync threshold costs a write: 1 (chunk collections) against 1,000.

Usage: .venv/bin/python -m tools.sync_cost [--sizes 1000,10000,30000,100000] [--rounds 8]

For each size, fills two collections of that many 384-dimension vectors in a scratch embedded
store (cache of 100, as by default), one per threshold, then times a one-article write (upsert 15
vectors, then delete them), alternating the two; prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.chroma_client import _embedded_client


def _fill(client: Any, name: str, threshold: int, n: int, rng: np.random.Generator) -> Any:
    col = client.get_or_create_collection(
        name,
        configuration={"hnsw": {"space": "cosine", "sync_threshold": threshold}},
        embedding_function=None,
    )
    for lo in range(0, n, 5000):
        k = min(5000, n - lo)
        col.upsert(
            ids=[f"b{lo + j}" for j in range(k)],
            embeddings=rng.random((k, 384), dtype=np.float32),
            documents=["x" * 500] * k,
            metadatas=[{"article_id": f"a{(lo + j) // 15}"} for j in range(k)],
        )
    return col


def _one_article(col: Any, tag: str, rng: np.random.Generator) -> float:
    start = time.perf_counter()
    col.upsert(
        ids=[f"{tag}:{j}" for j in range(15)],
        embeddings=rng.random((15, 384), dtype=np.float32),
        documents=["y" * 500] * 15,
        metadatas=[{"article_id": tag}] * 15,
    )
    col.delete(where={"article_id": tag})
    return time.perf_counter() - start


def main() -> None:
    """Print the write cost of each threshold per collection size."""
    from chromadb.config import Settings as ChromaSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,30000,100000")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        client = _embedded_client(Path(folder), ChromaSettings(anonymized_telemetry=False), 100)
        for n in (int(x) for x in args.sizes.split(",")):
            cols = {t: _fill(client, f"n{n}-t{t}", t, n, rng) for t in (1, 1000)}
            times: dict[int, list[float]] = {1: [], 1000: []}
            for r in range(args.rounds):
                for t in (1, 1000) if r % 2 == 0 else (1000, 1):
                    times[t].append(_one_article(cols[t], f"r{r}", rng))
            one, big = statistics.median(times[1]), statistics.median(times[1000])
            print(
                f"{n:>7,} chunks: threshold 1 {one * 1000:.0f} ms, threshold 1,000 {big * 1000:.0f} ms, "
                f"ratio {one / big:.2f} (upsert + delete of 15 vectors, median of {args.rounds})",
                flush=True,
            )


if __name__ == "__main__":
    main()
