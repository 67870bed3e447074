"""The answerability cross-encoder in torch: the packaged MiniLM with its top layers fine-tuned.

Imported only where torch is wanted (training, the ONNX export subprocess, the torch backend);
the serving process on ONNX Runtime never imports it. The shipped file holds only what differs
from the packaged model: the fine-tuned top layers, the classification head and the calibration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn


class PairScorer(nn.Module):
    """[CLS] question [SEP] sentence [SEP] sentence before [SEP] -> the log-odds that the sentence answers."""

    def __init__(self, bert: Any) -> None:
        super().__init__()
        self.bert = bert
        self.head = nn.Linear(2 * bert.config.hidden_size, 1)

    def pool(self, hidden: Any, attention_mask: Any) -> Any:
        """Return the logit from the last hidden states: [CLS] and the mean of the real tokens."""
        weights = attention_mask[..., None].to(hidden.dtype)
        mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.head(torch.cat([hidden[:, 0], mean], -1)).squeeze(-1)

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return self.pool(hidden, attention_mask)

    def top(self, hidden: Any, attention_mask: Any, first: int) -> Any:
        """Run layers first.. over hidden states of the layer before them; return the logit."""
        additive = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.bert.encoder.layer[first:]:
            hidden = layer(hidden, attention_mask=additive)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        return self.pool(hidden, attention_mask)


def base_model(model_dir: Path) -> Any:
    """Return the packaged transformer (eager attention: it traces to plain matrix products)."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()


def tuned_keys(scorer: PairScorer, first: int) -> list[str]:
    """Return the names of the parameters that are fine-tuned: layers first.. and the head."""
    prefixes = tuple(f"bert.encoder.layer.{i}." for i in range(first, len(scorer.bert.encoder.layer)))
    return [k for k in scorer.state_dict() if k.startswith((*prefixes, "head."))]


def load_scorer(model_dir: Path, delta: dict[str, Any]) -> PairScorer:
    """Return the packaged model with the shipped delta (tuned layers and head) loaded, for inference."""
    scorer = PairScorer(base_model(model_dir))
    tensors = {k: torch.from_numpy(v.copy()) for k, v in delta.items() if k.startswith(("bert.", "head."))}
    missing = set(tensors) - set(scorer.state_dict())
    if missing:
        raise ValueError(f"the answerability weights hold unknown tensors: {sorted(missing)[:3]}")
    scorer.load_state_dict(tensors, strict=False)
    return scorer.eval()
