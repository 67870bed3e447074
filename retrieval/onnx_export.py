"""Export a sentence-transformers model's transformer to ONNX, in a process of its own.

`python -m retrieval.onnx_export SOURCE_DIR TARGET_FILE` imports torch and transformers, so
the process that serves questions runs it as a subprocess and never imports them itself.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "token_embeddings"
OPSET = 17


def export(source: Path, target: Path) -> None:
    """Write the model in source (a Hugging Face directory) to target as ONNX: token vectors out."""
    import torch
    from transformers import AutoModel

    # Eager attention traces to plain matrix products; the SDPA path bakes shape checks in.
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class TokenVectors(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    sample = torch.ones((2, 16), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, OUTPUT)}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes about constant branches, true for any input
        # The TorchScript exporter: the dynamo one (torch 2.13, onnxscript 0.7) produced wrong
        # vectors for this model (cosine ~0 against torch) in a side-by-side check.
        torch.onnx.export(
            TokenVectors(model),
            (sample, sample, torch.zeros_like(sample)),
            str(target),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def main(argv: list[str]) -> int:
    """Run the export: `python -m retrieval.onnx_export SOURCE_DIR TARGET_FILE`."""
    export(Path(argv[0]), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
