"""`citebot bench`: ingest rate, ask latency, memory and cold start at several corpus sizes.

Each size is built and then measured in fresh subprocesses (`python -m retrieval.bench
WORKER SPEC`), so peak memory is per size and per phase. Past `embed_limit` chunks the store
is filled with perturbed copies of real embeddings, and the output says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.benchcorpus import (
    ROOT,
    SEED_QUESTIONS,
    SyntheticEmbedder,
    load_questions,
    load_sources,
    make_corpus,
)
from retrieval.benchscale import (
    ADD_CHARS,
    chunk_texts,
    cold_lines,
    cold_start,
    ingest_floor,
    machine,
    plain_torch_model,
    prepare_model,
    time_add,
    work_embed,
    work_encode,
)
from retrieval.benchservers import run_servers, servers_lines, work_servers
from retrieval.errors import CitebotError

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings
    from retrieval.models import SourceDocument
    from retrieval.service import CitebotService

KB = "bench"


# -- workers: each runs in its own process ---------------------------------------------------
def _settings(data_dir: str, export_dir: str | None = None) -> Settings:
    from config.loader import load_settings

    embedding = {"export_dir": export_dir} if export_dir else {}
    return load_settings(data_dir=Path(data_dir), kb=KB, chroma={"url": None}, embedding=embedding)


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _service(settings: Settings) -> CitebotService:
    from retrieval.cli import build_service

    return build_service(settings)


def work_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    """Time the add pipeline over documents against plain torch encode of the same chunk texts."""
    settings = _settings(spec["data_dir"], spec.get("export_dir"))
    docs = [d for d, _ in make_corpus(load_sources(_path(spec["articles"])), spec["chunks"], settings)]
    service = _service(settings)
    model = plain_torch_model(settings)
    batch = settings.embedding.batch_size
    ingest_floor(model, chunk_texts(docs[:2], settings), batch)  # warm up
    service.embedder.encode(chunk_texts(docs[:2], settings))
    # Slice by slice, alternating which goes first (ABBA), so a change in machine load (other
    # processes on the same cores) hits the raw encode and the pipeline alike.
    raw_s = pipeline_s = 0.0
    chunks = 0
    for n, lo in enumerate(range(0, len(docs), 32)):
        part = docs[lo : lo + 32]
        texts = chunk_texts(part, settings)
        chunks += len(texts)
        for step in ("raw", "pipeline") if n % 2 == 0 else ("pipeline", "raw"):
            t0 = time.perf_counter()
            if step == "raw":
                ingest_floor(model, texts, batch)
                raw_s += time.perf_counter() - t0
            else:
                _add(service, part)
                pipeline_s += time.perf_counter() - t0
    t0 = time.perf_counter()
    _finish(service)  # a later search would pay for any deferred index work: count it here
    pipeline_s += time.perf_counter() - t0
    if spec.get("seed_dir"):  # seed the cold-start data dir here, saving a process start
        _service(_settings(spec["seed_dir"], spec.get("export_dir"))).seed(KB)
    return {
        "chunks": chunks,
        "documents": len(docs),
        "pipeline_chunks_per_s": chunks / pipeline_s,
        "raw_chunks_per_s": chunks / raw_s,
        "ratio": raw_s / pipeline_s,
    }


def _finish(service: CitebotService) -> None:
    service.kb(KB).lexical()  # build any deferred index now


def _add(service: CitebotService, docs: list[SourceDocument]) -> None:
    bulk = getattr(service, "add_documents", None)  # absent before adds were batched
    if bulk is not None:
        bulk(docs, KB)
    else:
        for doc in docs:
            service.add_document(doc, KB)


def work_build(spec: dict[str, Any]) -> dict[str, Any]:
    """Grow the knowledge base to spec['chunks'] chunks; embed for real up to the limit."""
    import numpy as np

    from retrieval.service import article_id_for

    settings = _settings(spec["data_dir"], spec.get("export_dir"))
    corpus = make_corpus(load_sources(_path(spec["articles"])), spec["chunks"], settings)
    service = _service(settings)
    present = set(service.kb(KB).articles)
    done = sum(n for d, n in corpus if article_id_for(d) in present)
    real_docs: list[SourceDocument] = []
    synthetic_docs: list[SourceDocument] = []
    synthetic = 0
    for doc, n in corpus:
        if article_id_for(doc) not in present:
            (real_docs if done < spec["embed_limit"] else synthetic_docs).append(doc)
            synthetic += n if done >= spec["embed_limit"] else 0
            done += n
    t0 = time.perf_counter()
    _add(service, real_docs)
    t1 = time.perf_counter()
    if synthetic_docs:
        bank_file = Path(spec["data_dir"]) / "bench-bank.npy"
        if not bank_file.exists():
            np.save(bank_file, _real_vectors(service, [d for d, _ in corpus], 2048))
        real = service.embedder
        service.embedder = SyntheticEmbedder(np.load(bank_file), real.name)  # type: ignore[assignment]
        _add(service, synthetic_docs)
    _finish(service)  # count any deferred index work in the build time
    t2 = time.perf_counter()
    return {
        "chunks": done,
        "articles": len(service.kb(KB).articles),
        "synthetic_chunks": synthetic,
        "seconds": t2 - t0,
        "real_seconds": t1 - t0,
        "synthetic_chunks_per_s": synthetic / (t2 - t1) if synthetic else None,
        "peak_rss_mb": _peak_rss_mb(),
        "disk_mb": _disk_mb(Path(spec["data_dir"])),
    }


def _real_vectors(service: CitebotService, docs: list[SourceDocument], limit: int) -> np.ndarray:
    import numpy as np

    from retrieval.service import article_id_for, content_hash
    from retrieval.store import chunk_id

    kb = service.kb(KB)
    ids = [
        chunk_id(aid, content_hash(d.text)[:16], i)
        for d in docs
        if (aid := article_id_for(d)) in kb.articles
        for i in range(kb.articles[aid].chunks)
    ]
    return np.asarray(list(kb.store.embeddings(ids[:limit]).values()), dtype=np.float32)


def work_ask(spec: dict[str, Any]) -> dict[str, Any]:
    """Open the knowledge base in a fresh process and time warm asks against one query embed."""
    settings = _settings(spec["data_dir"], spec.get("export_dir"))
    questions = load_questions(_path(spec["articles"]), spec["questions"])
    t0 = time.perf_counter()
    service = _service(settings)
    service.ask(questions[0], KB)
    first_s = time.perf_counter() - t0
    for q in questions[:3]:  # warm caches and allocator
        service.ask(q, KB)
    floors: list[float] = []
    totals: list[float] = []
    parts: dict[str, list[float]] = {"embed": [], "search": [], "answer": []}
    for q in questions:
        t = time.perf_counter()
        service.embedder.encode([q])
        floors.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        answer = service.ask(q, KB)
        totals.append((time.perf_counter() - t) * 1000)
        for key, values in parts.items():
            values.append(answer.timings_ms[key])
    rss = _peak_rss_mb()  # serving memory: before the add below
    return {
        "p50_ms": _pct(totals, 50),
        "p95_ms": _pct(totals, 95),
        "floor_ms": _pct(floors, 50),
        "parts_p50_ms": {k: round(_pct(v, 50), 2) for k, v in parts.items()},
        "open_and_first_ask_s": first_s,
        "peak_rss_mb": rss,
        "add": time_add(service, KB, load_sources(_path(spec["articles"]))),
    }


def _work_embed(spec: dict[str, Any]) -> dict[str, Any]:
    settings = _settings(spec["data_dir"], spec.get("export_dir"))
    return work_embed(spec, settings, load_questions(_path(spec["articles"]), spec["questions"]))


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ingest": work_ingest,
    "build": work_build,
    "ask": work_ask,
    "encode": lambda spec: work_encode(spec, _settings(spec["data_dir"])),
    "embed": _work_embed,
    "servers": work_servers,
}


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# -- the driver -----------------------------------------------------------------------------
def _env(data_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
    if data_dir is not None:
        env["CITEBOT_DATA_DIR"] = str(data_dir)
    return env


def _spawn(worker: str, spec: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "retrieval.bench", worker, json.dumps(spec)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise CitebotError(f"bench worker {worker} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


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
    embedder, export_dir = prepare_model(settings or _settings(tempfile.gettempdir()))
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
        env = {**_env(cold), "CITEBOT_KB": KB}
        if export_dir:
            env["CITEBOT_EMBEDDING__EXPORT_DIR"] = export_dir
        ask = [sys.executable, "-m", "bot.cli", "ask", SEED_QUESTIONS[0]]
        report["cold_start"] = cold_start(ask, env, ROOT, cold_runs)
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


def main(argv: list[str]) -> int:
    """Run one worker: `python -m retrieval.bench WORKER SPEC_JSON`; print its JSON result."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    print(json.dumps(WORKERS[argv[0]](json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
