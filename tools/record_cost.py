"""Measure what the index metadata costs a record write (done after every answer, in a worker thread).

Usage: HF_HUB_OFFLINE=1 .venv/bin/python -m tools.record_cost [--n 400]

Writes a realistic AnswerRecord N times with its index metadata and N times without (as before),
alternating, into a scratch embedded store; prints the median of each, their ratio, and the time
to list them back by server. Also times drawing the stats chart in its child process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Print the write medians with and without index metadata, and the chart's drawing time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="writes of each kind")
    args = parser.parse_args(argv)

    from config.loader import load_settings
    from retrieval.chart import draw_elsewhere
    from retrieval.records import AnswerRecord, RecordStore
    from retrieval.stats import compute
    from retrieval.store import ChromaStore

    record = AnswerRecord(
        guild_id=1234567890123456789,
        user_id=42,
        question="How fast is Kim's train?",
        context=None,
        answer="x" * 300,
        abstained=False,
        cited=("a1",),
        shown=1,
        sources=({"passage": "y" * 600},),
    )
    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="citebot-records-") as tmp:
        raw = RecordStore(ChromaStore.from_settings(load_settings(data_dir=Path(tmp))), "answers")
        for i in range(args.n):
            for indexed in (True, False):
                start = time.perf_counter()
                raw.put(f"{indexed}{i}", record.to_json(), record.index() if indexed else None)
                times[indexed].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        listed = sum(1 for _ in raw.find({"guild_id": record.guild_id}))
        listing = (time.perf_counter() - start) * 1000
    with_index, without = statistics.median(times[True]), statistics.median(times[False])
    print(
        f"record write, median of {args.n}: {with_index:.2f} ms with index metadata, {without:.2f} ms without"
    )
    print(f"ratio {with_index / without:.2f}; listing {listed} records of one server: {listing:.1f} ms")
    stats = compute([], [], 30, date.today())
    for run in range(3):
        start = time.perf_counter()
        asyncio.run(draw_elsewhere(stats, "bench"))
        print(f"chart in a child process, run {run + 1}: {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
