"""`citebot bench` at a tiny size: it runs end to end and reports positive figures."""

from __future__ import annotations

import json
import math

import pytest

from cli.main import main

pytestmark = pytest.mark.model


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def test_bench_json_has_every_figure_and_they_are_positive(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "--chunks", "200", "--embed-limit", "100", "--ingest-chunks", "30"]
    code = main([*argv, "--questions", "3", "--cold-runs", "1", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert {"machine", "date", "ingest", "ask", "memory", "cold_start"} <= set(report)
    assert _positive(report["machine"]["cpu_count"])
    assert report["machine"]["embedder"] == "OnnxEmbedder"
    assert isinstance(report["machine"]["platform"], str)
    assert isinstance(report["machine"]["python"], str)
    ingest = report["ingest"]
    assert all(_positive(ingest[k]) for k in ("chunks", "pipeline_chunks_per_s", "raw_chunks_per_s", "ratio"))
    [(size, ask)] = report["ask"].items()
    assert size == "200"
    assert all(_positive(ask[k]) for k in ("p50_ms", "p95_ms", "floor_ms"))
    assert ask["p95_ms"] >= ask["p50_ms"]
    assert ask["add"]["chunks"] > 20 and 0 < ask["add"]["beyond_embedding_s"] < ask["add"]["total_s"]
    assert ask["synthetic_embeddings"] is True  # 200 chunks, embedded for real only up to 100
    assert _positive(report["memory"]["200"])
    cold = report["cold_start"]
    assert all(_positive(cold[k]) for k in ("ask_s", "import_s", "ratio"))
    assert cold["imports"] and all(_positive(seconds) for _, seconds in cold["imports"])
    assert cold["torch_imported"] == []  # the ONNX ask path
    assert all(_positive(report["embed"][k]) for k in ("ms", "torch_ms", "ratio"))
