"""The answerability head in torch, for training (retrieval/answerability.py runs it in numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

TAU = 0.1
HIDDEN = 48
EPOCHS = 8
BATCH = 256
LEARNING_RATE = 1e-2
WEIGHT_DECAY = 1e-3


class TorchHead(nn.Module):
    """Align each question word with the sentence's tokens; pool; add lexical features; one logit."""

    def __init__(self, dimension: int, lexical: int, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.proj = nn.Linear(4 * dimension, hidden)
        self.out = nn.Linear(2 * hidden + 3 + lexical, 1)

    def forward(self, q: Any, c: Any, q_mask: Any, c_mask: Any, lexical: Any) -> Any:
        sims = (q @ c.transpose(1, 2)).masked_fill(~c_mask[:, None, :], -1e4)
        aligned = torch.softmax(sims / TAU, dim=-1) @ c
        hidden = torch.relu(self.proj(torch.cat([q, aligned, q - aligned, q * aligned], -1)))
        count = q_mask.sum(1, keepdim=True).clamp(min=1)
        mean = hidden.masked_fill(~q_mask[..., None], 0).sum(1) / count
        top = hidden.masked_fill(~q_mask[..., None], -1e4).max(1).values
        best = sims.max(-1).values.masked_fill(~q_mask, 2.0)
        ordered = best.sort(1).values
        average = best.masked_fill(~q_mask, 0).sum(1, keepdim=True) / count
        pooled = [mean, top, ordered[:, :1], average, ordered[:, 1:2], lexical]
        return self.out(torch.cat(pooled, -1)).squeeze(-1)

    @staticmethod
    def export(model: TorchHead, scale: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
        """Return the numpy arrays retrieval/answerability.py loads."""
        return {
            "proj_w": model.proj.weight.detach().numpy().astype(np.float32),
            "proj_b": model.proj.bias.detach().numpy().astype(np.float32),
            "out_w": model.out.weight.detach().numpy().astype(np.float32),
            "out_b": model.out.bias.detach().numpy().astype(np.float32),
            "mu": scale[0].astype(np.float32),
            "sd": scale[1].astype(np.float32),
            "tau": np.array([TAU], dtype=np.float32),
        }


def _pad(arrays: list[np.ndarray]) -> tuple[Any, Any]:
    width = max((len(a) for a in arrays), default=1) or 1
    dim = next((a.shape[1] for a in arrays if a.ndim == 2 and len(a)), 384)
    out = np.zeros((len(arrays), width, dim), np.float32)
    mask = np.zeros((len(arrays), width), bool)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
        mask[i, : len(a)] = True
    if not mask[:, 0].all():
        mask[:, 0] = True  # an empty side still gets one zero token, as at ask time
    return torch.from_numpy(out), torch.from_numpy(mask)


def _batches(
    rows: list[dict[str, Any]], size: int, scale: tuple[np.ndarray, np.ndarray], order: np.ndarray
) -> Any:
    for lo in range(0, len(rows), size):
        index = order[lo : lo + size]
        part = [rows[i] for i in index]
        q, q_mask = _pad([r["q"].astype(np.float32) for r in part])
        c, c_mask = _pad([r["c"].astype(np.float32) for r in part])
        lexical = torch.from_numpy(
            ((np.stack([r["f"] for r in part]) - scale[0]) / scale[1]).astype(np.float32)
        )
        labels = torch.tensor([float(r["y"]) for r in part])
        yield (q, c, q_mask, c_mask, lexical), labels, index


def train(rows: list[dict[str, Any]], seed: int) -> tuple[TorchHead, tuple[np.ndarray, np.ndarray]]:
    """Fit a head on rows (q, c, f, y); return it with the lexical features' mean and scale."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    lexical = np.stack([r["f"] for r in rows]).astype(np.float64)
    scale = (lexical.mean(0), lexical.std(0) + 1e-6)
    dim = next(r["q"].shape[1] for r in rows if len(r["q"]))
    model = TorchHead(dim, lexical.shape[1])
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    for _ in range(EPOCHS):
        for inputs, labels, _ in _batches(rows, BATCH, scale, rng.permutation(len(rows))):
            loss = nn.functional.binary_cross_entropy_with_logits(model(*inputs), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model, scale


def predict(model: TorchHead, scale: tuple[np.ndarray, np.ndarray], rows: list[dict[str, Any]]) -> np.ndarray:
    """Return the head's logits for rows."""
    out = np.zeros(len(rows))
    with torch.no_grad():
        for inputs, _, index in _batches(rows, 256, scale, np.arange(len(rows))):
            out[index] = model(*inputs).numpy()
    return out


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Fit p = sigmoid(a * logit + b) by maximum likelihood (out-of-fold logits)."""
    from scipy.optimize import minimize

    def loss(ab: np.ndarray) -> float:
        z = ab[0] * logits + ab[1]
        return float(np.sum(np.logaddexp(0, z) - labels * z))

    fitted = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead")
    return float(fitted.x[0]), float(fitted.x[1])
