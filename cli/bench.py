"""`citebot bench`: ingest rate, ask latency, memory and cold start at several corpus sizes.

Each size is built and then measured in fresh subprocesses (`python -m cli.benchwork WORKER
SPEC`, see cli/benchwork.py), so peak memory is per size and per phase. Past `embed_limit`
chunks the store is filled with perturbed copies of real embeddings, and the output says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.benchcorpus import ROOT, SEED_QUESTIONS
from cli.benchscale import ADD_CHARS, cold_lines, cold_start, machine, prepare_model
from cli.benchservers import run_servers, servers_lines
from config.loader import load_settings
from retrieval.errors import CitebotError

if TYPE_CHECKING:
    import argparse

    from config.settings import Settings

KB = "bench"


# -- the driver -----------------------------------------------------------------------------
def _env(data_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
    if data_dir is not None:
        env["CITEBOT_DATA_DIR"] = str(data_dir)
    return env


def _spawn(worker: str, spec: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "cli.benchwork", worker, json.dumps(spec)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise CitebotError(f"bench worker {worker} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cold_start(data: Path, export_dir: str | None, runs: int) -> dict[str, Any]:
    """Time a first `citebot ask` on a seeded data dir against `import chromadb`."""
    env = {**_env(data), "CITEBOT_KB": KB}
    if export_dir:
        env["CITEBOT_EMBEDDING__EXPORT_DIR"] = export_dir
    return cold_start([sys.executable, "-m", "cli", "ask", SEED_QUESTIONS[0]], env, ROOT, runs)


def run(
    sizes: list[int],
    articles: Path | None,
    *,
    questions: int,
    embed_limit: int,
    ingest_chunks: int,
    cold_runs: int = 3,
    progress: Any = None,
    settings: Settings | None = None,
    servers: int = 0,
    open_kbs: int | None = None,
) -> dict[str, Any]:
    """Run every measurement in a temporary directory and return the report."""
    say = progress or (lambda _msg: None)
    say("preparing the embedding model (a one-time ONNX export if needed)")
    embedder, export_dir = prepare_model(settings or load_settings())
    report: dict[str, Any] = {
        "machine": machine(embedder),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "embed_limit": embed_limit,
        "ask": {},
        "memory": {},
        "build": {},
    }
    common = {"articles": str(articles) if articles else None, "export_dir": export_dir}
    with tempfile.TemporaryDirectory(prefix="citebot-bench-") as tmp:
        work = Path(tmp)
        if servers:  # the many-servers bench alone
            spec = {**common, "data_dir": str(work / "servers"), "servers": servers, "open_kbs": open_kbs}
            report["servers"] = run_servers(_spawn, spec, say)
            return report
        cold = work / "cold"
        say(f"ingest: {ingest_chunks} chunks, pipeline against raw encode")
        spec = {**common, "data_dir": str(work / "ingest"), "chunks": ingest_chunks, "seed_dir": str(cold)}
        report["ingest"] = _spawn("ingest", spec)
        say(f"query embedding: {embedder} against plain torch, {questions} questions")
        report["embed"] = _spawn("embed", {**common, "data_dir": str(work / "embed"), "questions": questions})
        data = work / "sizes"
        for size in sorted(sizes):
            say(f"{size} chunks: building")
            spec = {**common, "data_dir": str(data), "chunks": size, "embed_limit": embed_limit}
            built = _spawn("build", spec)
            say(f"{size} chunks: asking {questions} questions")
            asked = _spawn("ask", {**common, "data_dir": str(data), "questions": questions})
            report["ask"][str(size)] = {
                "p50_ms": asked["p50_ms"],
                "p95_ms": asked["p95_ms"],
                "floor_ms": asked["floor_ms"],
                "synthetic_embeddings": built["chunks"] > embed_limit or built["synthetic_chunks"] > 0,
                "chunks": built["chunks"],
                "parts_p50_ms": asked["parts_p50_ms"],
                "open_and_first_ask_s": asked["open_and_first_ask_s"],
                "add": asked["add"],
            }
            report["memory"][str(size)] = asked["peak_rss_mb"]
            report["build"][str(size)] = built
        say("cold start")
        report["cold_start"] = _cold_start(cold, export_dir, cold_runs)
    return report


def table(report: dict[str, Any]) -> str:
    """Render the report for people."""
    m = report["machine"]
    head = (
        f"citebot bench, {report['date']}: {m['cpu_count']} CPUs, embedder {m['embedder']}, "
        f"Python {m['python']}, load {m['load_average']}"
    )
    if "servers" in report:
        return "\n".join([head, *servers_lines(report["servers"])])
    ing, emb = report["ingest"], report["embed"]
    lines = [
        head,
        f"ingest ({ing['chunks']} chunks): pipeline {ing['pipeline_chunks_per_s']:.1f}/s, plain torch encode "
        f"{ing['raw_chunks_per_s']:.1f}/s, ratio {ing['ratio']:.2f} (goal >= 1.3)",
        f"query embedding: {emb['embedder']} {emb['ms']:.1f} ms, plain torch {emb['torch_ms']:.1f} ms, "
        f"ratio {emb['ratio']:.2f} (goal <= 0.6)",
        "",
        f"{'chunks':>8} {'p50 ms':>8} {'p95 ms':>8} {'floor ms':>9} {'p50/fl':>7} {'p95/fl':>7} "
        f"{'RSS MB':>7} {'disk MB':>8} {'build s':>8}  embeddings",
    ]
    adds = [f"{a['chunks']}: {a['add']['beyond_embedding_s']:.2f} s" for a in report["ask"].values()]
    for size, a in report["ask"].items():
        b = report["build"][size]
        kind = f"synthetic past {report['embed_limit']}" if a["synthetic_embeddings"] else "real"
        lines.append(
            f"{a['chunks']:>8} {a['p50_ms']:>8.1f} {a['p95_ms']:>8.1f} {a['floor_ms']:>9.1f} "
            f"{a['p50_ms'] / a['floor_ms']:>7.2f} {a['p95_ms'] / a['floor_ms']:>7.2f} "
            f"{report['memory'][size]:>7.0f} {b['disk_mb']:>8.1f} {b['seconds']:>8.1f}  {kind}"
        )
    lines += [
        "",
        "goals: p50 <= 1.5x floor at 10,000 chunks, p95 <= 3x floor at 100,000, RSS <= 800 MB at 100,000",
        f"/add of a {ADD_CHARS:,}-character article, beyond its embedding, by KB size: {', '.join(adds)} "
        "(goal <= 2 s at 100,000)",
        *cold_lines(report["cold_start"]),
    ]
    if any(a["synthetic_embeddings"] for a in report["ask"].values()):
        lines.append(
            f"note: past {report['embed_limit']} chunks the store holds perturbed copies of real "
            "embeddings (seeded noise, renormalised), not embeddings of the chunk texts"
        )
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Measure performance at the given corpus sizes, in temporary data dirs."""
    try:
        sizes = [int(x) for x in args.chunks.split(",") if x.strip()]
    except ValueError as exc:
        raise CitebotError(f"--chunks takes sizes like 1000,10000: {exc}") from exc
    if not sizes or min(sizes) < 1 or args.questions < 1 or args.embed_limit < 1:
        raise CitebotError("--chunks, --questions and --embed-limit must be positive")
    articles = args.articles
    say = None if args.json else (lambda msg: print(f"citebot bench: {msg}", file=sys.stderr, flush=True))
    ingest = args.ingest_chunks or args.embed_limit
    report = run(
        sizes,
        articles,
        questions=args.questions,
        embed_limit=args.embed_limit,
        ingest_chunks=ingest,
        cold_runs=max(1, args.cold_runs),
        progress=say,
        settings=settings,
        servers=max(0, args.servers),
        open_kbs=args.open_kbs,
    )
    print(json.dumps(report) if args.json else table(report))
    return 0
