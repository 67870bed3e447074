"""`citebot bench` figures about start-up and the embedder: cold ask, imports, ONNX against torch.

The workers here run in their own processes like the others in cli/benchwork.py.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.errors import CitebotError

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings
    from retrieval.embedding import Embedder
    from retrieval.models import SourceDocument
    from retrieval.service import CitebotService

TORCH_STACK = ("torch", "transformers", "sentence_transformers", "sklearn")
ADD_CHARS = 15_000  # about five pages


def plain_torch_model(settings: Settings) -> Any:
    """Load the configured model with sentence-transformers on torch: the floor for ingest and queries."""
    import torch
    from sentence_transformers import SentenceTransformer

    from retrieval.embedding import resolve_model

    del torch  # imported first so its thread settings apply to the model
    return SentenceTransformer(resolve_model(settings.embedding.model), device="cpu")


def work_embed(spec: dict[str, Any], settings: Settings, questions: list[str]) -> dict[str, Any]:
    """Time one-question embeddings: the service's embedder against plain torch, interleaved."""
    import torch

    from retrieval.onnx_embedding import make_embedder

    embedder = make_embedder(settings.embedding, settings.data_dir)
    embedder.load()
    model = plain_torch_model(settings)
    torch.set_num_threads(max(1, settings.embedding.query_threads))  # torch's own best for one text
    for q in questions[:3]:
        embedder.encode([q])
        model.encode([q], normalize_embeddings=True)
    ours: list[float] = []
    plain: list[float] = []
    for n, q in enumerate(questions):
        for step in ("ours", "torch") if n % 2 == 0 else ("torch", "ours"):
            t0 = time.perf_counter()
            if step == "ours":
                embedder.encode([q])
                ours.append((time.perf_counter() - t0) * 1000)
            else:
                model.encode([q], normalize_embeddings=True, show_progress_bar=False)
                plain.append((time.perf_counter() - t0) * 1000)
    a, b = statistics.median(ours), statistics.median(plain)
    return {"embedder": type(embedder).__name__, "ms": a, "torch_ms": b, "ratio": a / b}


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, check=False)  # noqa: S603
    if done.returncode != 0:
        raise CitebotError(f"{' '.join(cmd[:4])} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0, done.stderr


def import_breakdown(stderr: str, top: int = 8) -> list[tuple[str, float]]:
    """Return the slowest top-level imports of a `python -X importtime` log: (module, seconds)."""
    rows: dict[str, float] = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) <= 1:  # one space of indent: imported by the program itself
            name = m.group(3).split(".")[0]
            rows[name] = rows.get(name, 0.0) + int(m.group(1)) / 1e6
    return sorted(rows.items(), key=lambda kv: -kv[1])[:top]


def cold_start(ask: list[str], env: dict[str, str], cwd: Path, runs: int) -> dict[str, Any]:
    """Time a first `citebot ask` in a new process against `import chromadb` (interleaved medians)."""
    imp = [sys.executable, "-c", "import chromadb"]
    ask_s, import_s = [], []
    for _ in range(runs):  # interleaved, so a change in machine load hits both alike
        import_s.append(_timed(imp, env, cwd)[0])
        ask_s.append(_timed(ask, env, cwd)[0])
    _, log = _timed([sys.executable, "-X", "importtime", *ask[1:]], env, cwd)
    names = set(re.findall(r"\|\s*(\w+)(?:\.\S*)?\s*$", log, flags=re.MULTILINE))
    a, i = statistics.median(ask_s), statistics.median(import_s)
    return {
        "ask_s": a,
        "import_s": i,
        "ratio": a / i,
        "imports": import_breakdown(log),
        "torch_imported": sorted(n for n in TORCH_STACK if n in names),
    }


def cold_lines(cold: dict[str, Any]) -> list[str]:
    """Render the cold-start figures."""
    parts = ", ".join(f"{name} {s:.2f}" for name, s in cold["imports"])
    torch = ", ".join(cold["torch_imported"]) or "none"
    return [
        f"cold start: first ask {cold['ask_s']:.2f} s, `import chromadb` {cold['import_s']:.2f} s, "
        f"ratio {cold['ratio']:.2f} (goal <= 2.5, and <= 3 s)",
        f"  slowest imports of that ask (-X importtime, s): {parts}; torch stack imported: {torch}",
    ]


def ingest_floor(model: Any, texts: list[str], batch: int) -> None:
    """Encode texts the plain way (the ingest floor)."""
    model.encode(texts, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)


def chunk_texts(docs: list[SourceDocument], settings: Settings) -> list[str]:
    """Return the texts the pipeline embeds for docs (title prefix included)."""
    from retrieval.chunking import chunk_text

    c = settings.chunk
    return [
        (f"{d.title}\n" if c.title_in_embedding else "") + ch.text
        for d in docs
        for ch in chunk_text(d.text, c.size, c.overlap)
    ]


class _TimedEmbedder:
    """Pass encodes through to an embedder, adding up the seconds they take."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return self.inner.encode(texts)
        finally:
            self.seconds += time.perf_counter() - t0

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        t0 = time.perf_counter()
        try:
            return self.inner.encode_passages(texts, spans)
        finally:
            self.seconds += time.perf_counter() - t0


def time_add(service: CitebotService, kb: str, sources: list[tuple[str, str]]) -> dict[str, float]:
    """Time one /add of a new ~5-page article to an open knowledge base, then remove it again."""
    from retrieval.models import SourceDocument

    text, n = "", 0
    while len(text) < ADD_CHARS:
        text += sources[n % len(sources)][1] + "\n\n"
        n += 1
    doc = SourceDocument(
        text=f"A new article added at {time.time()}.\n\n{text}", title="bench add", source="bench"
    )
    timed = _TimedEmbedder(service.embedder)
    real, service.embedder = service.embedder, timed  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        added = service.add_document(doc, kb)
        total = time.perf_counter() - t0
    finally:
        service.embedder = real
    service.remove(added.article.id, kb)
    service.kb(kb).lexical()
    return {"chunks": added.article.chunks, "total_s": total, "beyond_embedding_s": total - timed.seconds}


def machine(embedder: str) -> dict[str, Any]:
    """Describe the machine the figures come from."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "embedder": embedder,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def prepare_model(settings: Settings) -> tuple[str, str | None]:
    """Export the model for ONNX Runtime now if it will be used, so no timing includes the export."""
    from retrieval.onnx_embedding import OnnxEmbedder, make_embedder

    embedder = make_embedder(settings.embedding, settings.data_dir)
    if not isinstance(embedder, OnnxEmbedder):
        return type(embedder).__name__, None
    embedder.export()
    return type(embedder).__name__, str(embedder.export_root)
