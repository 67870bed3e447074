"""Export the answerability cross-encoder to ONNX, in a process of its own.

`python -m retrieval.crossencoder_export MODEL_DIR DELTA TARGET` builds the packaged model with
the shipped delta (tuned layers and head) and writes it as ONNX: token ids in, one logit per
pair out. The serving process runs it as a subprocess (retrieval.onnx_embedding.ensure_export)
and never imports torch itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from retrieval.onnx_export import trace

OUTPUT = "logits"


def export(model_dir: Path, delta: Path, target: Path) -> None:
    """Write the tuned cross-encoder to target as ONNX."""
    from safetensors.numpy import load_file

    from retrieval.crossencoder_torch import load_scorer

    scorer = load_scorer(model_dir, load_file(str(delta)))
    trace(scorer, target, OUTPUT, {0: "batch"})


def main(argv: list[str]) -> int:
    """Run the export: `python -m retrieval.crossencoder_export MODEL_DIR DELTA TARGET`."""
    export(Path(argv[0]), Path(argv[1]), Path(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
