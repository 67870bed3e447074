"""Choose the cosine threshold that groups similar unanswered questions in `/citebot gaps`.

Usage: HF_HUB_OFFLINE=1 .venv/bin/python -m tools.gap_threshold [--paraphrases FILE] [--seed FILE]

Groups the hand-written paraphrase set (tests/data/gap_paraphrases.jsonl: questions a Discord
community asks, in groups of the same need, with near misses such as "install on Linux" and
"install on Windows") with retrieval.gaps.group at each threshold, with the configured embedder,
and prints pairwise precision, recall and F1 against the hand-made groups. It also prints how
many of the seed question set's questions (distinct questions about one article) would be
merged into a group with another: merging distinct questions hides gaps.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def pair_scores(truth: dict[str, str], predicted: dict[str, int]) -> tuple[float, float, float]:
    """Return pairwise precision, recall and F1 of a grouping against the true groups."""
    tp = fp = fn = 0
    for a, b in combinations(sorted(truth), 2):
        same, grouped = truth[a] == truth[b], predicted[a] == predicted[b]
        tp += same and grouped
        fp += grouped and not same
        fn += same and not grouped
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def grouping(
    questions: list[str], encode: Callable[[list[str]], np.ndarray], threshold: float
) -> dict[str, int]:
    """Return each question's group number under retrieval.gaps.group."""
    from retrieval.gaps import GapAsk, group

    asks = [
        GapAsk(str(i), q, "2026-01-01T00:00:00+00:00", frozenset({"not_found"}))
        for i, q in enumerate(questions)
    ]
    gaps = group(asks, encode, threshold)
    return {q: n for n, g in enumerate(gaps) for q in g.questions}


def main(argv: list[str] | None = None) -> int:
    """Print the grouping quality at each threshold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paraphrases", type=Path, default=DATA / "gap_paraphrases.jsonl")
    parser.add_argument("--seed", type=Path, default=DATA / "seed_questions.jsonl")
    args = parser.parse_args(argv)

    from config.loader import load_settings
    from retrieval.compose import build_service

    rows = [json.loads(line) for line in args.paraphrases.read_text(encoding="utf-8").splitlines() if line]
    truth = {r["question"]: r["group"] for r in rows}
    seed = [
        json.loads(line)["question"] for line in args.seed.read_text(encoding="utf-8").splitlines() if line
    ]
    with (
        tempfile.TemporaryDirectory(prefix="citebot-gaps-") as tmp,
        build_service(load_settings(data_dir=Path(tmp))) as service,
    ):
        encode = service.embedder.encode
        print(f"{len(truth)} paraphrases in {len(set(truth.values()))} groups; {len(seed)} seed questions")
        print("threshold  precision  recall     F1  groups  seed questions merged")
        for step in range(8, 19):
            threshold = step / 20
            predicted = grouping(list(truth), encode, threshold)
            p, r, f1 = pair_scores(truth, predicted)
            sizes = Counter(grouping(seed, encode, threshold).values())
            merged = sum(size for size in sizes.values() if size > 1)
            groups = len(set(predicted.values()))
            print(
                f"     {threshold:.2f}      {p:.3f}   {r:.3f}  {f1:.3f}  {groups:6d}  {merged:3d} / {len(seed)}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
