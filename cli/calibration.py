"""Calibration of answer confidences: reliability table and expected calibration error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def reliability(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> dict[str, Any]:
    """Return {answers, ece, bins: [{low, high, answers, confidence, accuracy}]} for (confidence, right) pairs.

    Bins are equal-width over [0, 1]; ECE is the answer-weighted mean of |accuracy - confidence|.
    """
    table = []
    ece = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(p, ok) for p, ok in pairs if low <= p < high or (b == bins - 1 and p == 1.0)]
        if not inside:
            continue
        confidence = sum(p for p, _ in inside) / len(inside)
        accuracy = sum(ok for _, ok in inside) / len(inside)
        ece += len(inside) / len(pairs) * abs(accuracy - confidence)
        table.append(
            {
                "low": low,
                "high": high,
                "answers": len(inside),
                "confidence": round(confidence, 4),
                "accuracy": round(accuracy, 4),
            }
        )
    return {"answers": len(pairs), "ece": round(ece, 4), "bins": table}


def reliability_table(calibration: dict[str, Any]) -> str:
    """Return a reliability table as Markdown."""
    lines = ["| confidence | answers | mean confidence | right |", "|---|---|---|---|"]
    for b in calibration["bins"]:
        lines.append(
            f"| {b['low']:.1f}-{b['high']:.1f} | {b['answers']} | {b['confidence']:.3f} | {b['accuracy']:.3f} |"
        )
    lines.append(f"\nECE {calibration['ece']:.3f} over {calibration['answers']} answers")
    return "\n".join(lines)
