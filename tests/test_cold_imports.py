"""Start-up cost: each command imports only what it needs (checked in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TORCH_STACK = {"torch", "transformers", "sentence_transformers", "sklearn"}
MODEL_CODE = TORCH_STACK | {"onnxruntime", "tokenizers", "matplotlib"}  # matplotlib: charts only

_PROBE = """
import json, sys
from cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
watched = {watched!r}
print(json.dumps({{"code": code, "imported": sorted(m for m in watched if m in sys.modules)}}))
"""


def _imported(*args: str) -> set[str]:
    """Run `citebot ARGS` in a new process; return which watched modules it imported."""
    probe = _PROBE.format(watched=sorted(MODEL_CODE))
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None), done.stderr[-2000:]
    return set(result["imported"])


def test_help_and_list_import_no_model_code() -> None:
    assert _imported("--help") == set()
    assert _imported("list") == set()


@pytest.mark.model
def test_ask_on_the_onnx_path_imports_no_torch_stack() -> None:
    # The knowledge base is empty, so this ask also seeds it: adding goes through ONNX too.
    imported = _imported("ask", "How fast is Kim's train?")
    assert "onnxruntime" in imported
    assert not imported & TORCH_STACK, imported & TORCH_STACK
    assert "matplotlib" not in imported
