"""`citebot bench --servers N`: one small knowledge base per Discord server, N of them.

Each server gets the seed article plus 5 xquad articles. The distinct chunk texts are embedded
once and reused (real vectors, so answers behave as in production); the store, the BM25
indexes and the registry are written per server as the bot would.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cli.evaluation import percentile
from retrieval.embedding import Embedder

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.models import SourceDocument
    from retrieval.service import CitebotService

ARTICLES_PER_SERVER = 5


def server_name(i: int) -> str:
    """Return the knowledge-base name of the i-th server."""
    return f"guild-{i:05d}"


class MemoEmbedder(Embedder):
    """Remember the vectors of texts already embedded (every server holds copies of a few articles)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._seen: dict[tuple[str, tuple[tuple[int, int], ...]], tuple[np.ndarray, np.ndarray]] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return the inner model's vectors (questions are not remembered)."""
        return self.inner.encode(texts)

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return chunk and sentence vectors, embedding only the texts not seen before."""
        keys = [(t, tuple(s)) for t, s in zip(texts, spans, strict=True)]
        todo = sorted({k for k in keys if k not in self._seen})
        if todo:
            vectors, pooled = self.inner.encode_passages([t for t, _ in todo], [list(s) for _, s in todo])
            for key, vector, rows in zip(todo, vectors, pooled, strict=True):
                self._seen[key] = (vector, rows)
        got = [self._seen[k] for k in keys]
        return np.asarray([v for v, _ in got], dtype=np.float32), [rows for _, rows in got]


def server_docs(i: int, seeds: list[SourceDocument], pool: list[SourceDocument]) -> list[SourceDocument]:
    """Return the i-th server's articles: the seed ones and 5 of the pool, rotating."""
    return seeds + [pool[(i * ARTICLES_PER_SERVER + j) % len(pool)] for j in range(ARTICLES_PER_SERVER)]


def build_servers(service: CitebotService, n: int, articles: Path | None) -> dict[str, Any]:
    """Add the seed and 5 articles to each of n knowledge bases; return timings."""
    from cli.benchcorpus import load_sources
    from retrieval.adding import load_seeds
    from retrieval.models import SourceDocument

    seeds = load_seeds(service.settings)
    extra = load_sources(articles, service.settings)[len(seeds) :]
    pool = [SourceDocument(text=text, title=title, source="bench") for title, text in extra] or seeds
    service.embedder = MemoEmbedder(service.embedder)
    t0 = time.perf_counter()
    for i in range(n):
        service.add_documents(server_docs(i, seeds, pool), server_name(i), added_by="bench")
    return {"servers": n, "seconds": time.perf_counter() - t0}


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def ask_servers(service: CitebotService, n: int, questions: list[str], rounds: int) -> dict[str, Any]:
    """Touch every server once, then time warm, cold (closed a while ago) and uniform asks."""
    import resource

    rng = random.Random(16)
    first: list[float] = []
    for i in range(n):  # in server order: the first ones are the longest untouched afterwards
        t0 = time.perf_counter()
        service.ask(questions[i % len(questions)], server_name(i))
        first.append(_ms(t0))
    rss_touched = _rss_mb()
    capacity = service.settings.open_kbs
    recent = list(range(max(0, n - capacity), n))
    warm: list[float] = []
    cold: list[float] = []
    # Cold asks close open servers; stay clear of the recent half the warm asks pick from.
    cold_pool = list(range(max(0, n - capacity)))[: max(1, capacity // 2)]
    for r in range(rounds):
        q = questions[r % len(questions)]
        # Interleaved, so a change in machine load hits both alike. A cold server is the one
        # untouched longest; asking it closes the oldest open one, which the next pick skips.
        if cold_pool:
            t0 = time.perf_counter()
            service.ask(q, server_name(cold_pool.pop(0)))
            cold.append(_ms(t0))
        name = server_name(rng.choice(recent[-max(1, capacity // 2) :]))
        t0 = time.perf_counter()
        service.ask(q, name)
        warm.append(_ms(t0))
    steady: list[float] = []
    for r in range(rounds * 2):
        t0 = time.perf_counter()
        service.ask(questions[r % len(questions)], server_name(rng.randrange(n)))
        steady.append(_ms(t0))
    return {
        "servers": n,
        "open_kbs": capacity,
        "rss_after_touching_all_mb": rss_touched,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_touch_p50_ms": statistics.median(first),
        "warm_p50_ms": statistics.median(warm),
        "cold_p50_ms": statistics.median(cold) if cold else None,
        "cold_over_warm": statistics.median(cold) / statistics.median(warm) if cold else None,
        "steady_p50_ms": percentile(steady, 50),
        "steady_p95_ms": percentile(steady, 95),
    }


def servers_lines(report: dict[str, Any]) -> list[str]:
    """Render the many-servers figures."""
    a, b = report["ask"], report["build"]
    cold = (
        f"cold (closed, untouched longest) p50 {a['cold_p50_ms']:.1f} ms = {a['cold_over_warm']:.2f}x warm"
        if a["cold_p50_ms"] is not None
        else "cold: none (every server stayed open)"
    )
    return [
        f"servers: {a['servers']} knowledge bases (seed + {ARTICLES_PER_SERVER} articles each), "
        f"open_kbs {a['open_kbs']}, built in {b['seconds']:.0f} s, disk {b['disk_mb']:.0f} MB",
        f"  RSS after touching all {a['rss_after_touching_all_mb']:.0f} MB, peak {a['peak_rss_mb']:.0f} MB "
        "(goal <= 1536 MB at 1000)",
        f"  first ask per server p50 {a['first_touch_p50_ms']:.1f} ms; warm p50 {a['warm_p50_ms']:.1f} ms; "
        f"{cold} (goal <= 5x)",
        f"  steady asks over random servers: p50 {a['steady_p50_ms']:.1f} ms, p95 {a['steady_p95_ms']:.1f} ms",
    ]


def work_servers(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the servers' knowledge bases, or (phase "ask") open them in a fresh process and ask."""
    from cli import benchwork
    from cli.benchcorpus import timed_questions

    settings: Settings = benchwork.settings_for(spec)
    if spec.get("open_kbs"):
        settings = settings.model_copy(update={"open_kbs": spec["open_kbs"]})
    service = benchwork.service_for(settings)
    articles = Path(spec["articles"]) if spec.get("articles") else None
    if spec["phase"] == "build":
        built = build_servers(service, spec["servers"], articles)
        return {
            **built,
            "disk_mb": benchwork.disk_mb(Path(spec["data_dir"])),
            "peak_rss_mb": benchwork.peak_rss_mb(),
        }
    questions = timed_questions(articles, 50)
    return ask_servers(service, spec["servers"], questions, spec.get("rounds", 30))


def run_servers(spawn: Any, spec: dict[str, Any], say: Any) -> dict[str, Any]:
    """Build the servers in one worker process, then ask in a fresh one; return both reports."""
    say(f"servers: building {spec['servers']} knowledge bases")
    build = spawn("servers", {**spec, "phase": "build"})
    say(f"servers: asking across {spec['servers']} knowledge bases")
    return {"build": build, "ask": spawn("servers", {**spec, "phase": "ask"})}
