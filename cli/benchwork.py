"""The bench's workers: each runs in a fresh process (`python -m cli.benchwork WORKER SPEC_JSON`)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.benchcorpus import SyntheticEmbedder, load_sources, make_corpus, timed_questions
from cli.benchscale import chunk_texts, ingest_floor, plain_torch_model, time_add, work_embed
from cli.benchservers import work_servers
from cli.evaluation import percentile

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings
    from retrieval.models import SourceDocument
    from retrieval.service import CitebotService

KB = "bench"


def settings_for(spec: dict[str, Any], data_dir: str | None = None) -> Settings:
    """Return scratch settings for a worker: its data dir, and the driver's ONNX export if any."""
    from config.loader import load_settings
    from retrieval.compose import scratch_settings

    export = {"export_dir": Path(spec["export_dir"])} if spec.get("export_dir") else {}
    return scratch_settings(load_settings(), Path(data_dir or spec["data_dir"]), KB, embedding=export)


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def service_for(settings: Settings) -> CitebotService:
    """Build a worker's service."""
    from retrieval.compose import build_service

    return build_service(settings)


def work_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    """Time the add pipeline over documents against plain torch encode of the same chunk texts."""
    settings = settings_for(spec)
    docs = [
        d for d, _ in make_corpus(load_sources(_path(spec["articles"]), settings), spec["chunks"], settings)
    ]
    service = service_for(settings)
    model = plain_torch_model(settings)
    batch = settings.embedding.batch_size
    ingest_floor(model, chunk_texts(docs[:2], settings), batch)  # warm up both
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
        service_for(settings_for(spec, spec["seed_dir"])).seed(KB)
    return {
        "chunks": chunks,
        "documents": len(docs),
        "pipeline_chunks_per_s": chunks / pipeline_s,
        "raw_chunks_per_s": chunks / raw_s,
        "ratio": raw_s / pipeline_s,
    }


def _add(service: CitebotService, docs: list[SourceDocument]) -> None:
    service.add_documents(docs, KB)


def _finish(service: CitebotService) -> None:
    service.kb(KB).lexical()  # build the BM25 index now, so its cost is counted


def work_build(spec: dict[str, Any]) -> dict[str, Any]:
    """Grow the knowledge base to spec['chunks'] chunks; embed for real up to the limit."""
    import numpy as np

    from retrieval.adding import article_id_for

    settings = settings_for(spec)
    corpus = make_corpus(load_sources(_path(spec["articles"]), settings), spec["chunks"], settings)
    service = service_for(settings)
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
        "peak_rss_mb": peak_rss_mb(),
        "disk_mb": disk_mb(Path(spec["data_dir"])),
    }


def _real_vectors(service: CitebotService, docs: list[SourceDocument], limit: int) -> np.ndarray:
    import numpy as np

    from retrieval.adding import article_id_for
    from retrieval.store import chunk_id

    kb = service.kb(KB)
    ids = [
        chunk_id(aid, kb.versions[aid], i)
        for d in docs
        if (aid := article_id_for(d)) in kb.articles
        for i in range(kb.articles[aid].chunks)
    ]
    return np.asarray([v for v, _ in kb.store.embeddings(ids[:limit]).values()], dtype=np.float32)


def work_ask(spec: dict[str, Any]) -> dict[str, Any]:
    """Open the knowledge base in a fresh process and time warm asks against one query embed."""
    settings = settings_for(spec)
    questions = timed_questions(_path(spec["articles"]), spec["questions"])
    t0 = time.perf_counter()
    service = service_for(settings)
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
    return {
        "p50_ms": percentile(totals, 50),
        "p95_ms": percentile(totals, 95),
        "floor_ms": percentile(floors, 50),
        "parts_p50_ms": {k: round(percentile(v, 50), 2) for k, v in parts.items()},
        "open_and_first_ask_s": first_s,
        "peak_rss_mb": peak_rss_mb(),  # serving memory: taken before the add below
        "add": time_add(service, KB, load_sources(_path(spec["articles"]), settings)),
    }


def work_encode(spec: dict[str, Any]) -> dict[str, Any]:
    """Compare encode settings on the same chunk texts, in interleaved rounds: chunks/s each."""
    import torch
    from sentence_transformers import SentenceTransformer

    from retrieval.embedding import resolve_model

    settings = settings_for(spec)
    docs = [
        d for d, _ in make_corpus(load_sources(_path(spec["articles"]), settings), spec["chunks"], settings)
    ]
    texts = chunk_texts(docs, settings)
    model = SentenceTransformer(resolve_model(settings.embedding.model), device="cpu")
    variants = [(int(b), int(t)) for b, t in spec["variants"]]  # (batch size, torch threads)
    seconds = dict.fromkeys(variants, 0.0)
    model.encode(texts[:16])
    for r in range(spec.get("rounds", 3)):
        for batch, threads in variants if r % 2 == 0 else variants[::-1]:
            torch.set_num_threads(threads)
            t0 = time.perf_counter()
            model.encode(texts, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
            seconds[batch, threads] += time.perf_counter() - t0
    rounds = spec.get("rounds", 3)
    return {f"batch={b} threads={t}": len(texts) * rounds / s for (b, t), s in seconds.items()}


def _work_embed(spec: dict[str, Any]) -> dict[str, Any]:
    return work_embed(spec, settings_for(spec), timed_questions(_path(spec["articles"]), spec["questions"]))


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ingest": work_ingest,
    "build": work_build,
    "ask": work_ask,
    "encode": work_encode,
    "embed": _work_embed,
    "servers": work_servers,
}


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def disk_mb(path: Path) -> float:
    """Return the size of the files below path in MB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main(argv: list[str]) -> int:
    """Run one worker: `python -m cli.benchwork WORKER SPEC_JSON`; print its JSON result."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(json.dumps(WORKERS[argv[0]](json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
