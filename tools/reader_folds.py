"""EXPERIMENT (session 8): train and save session 6's two fold readers (tools/reader_ranker.py dev reads them).

Runs inside an export of commit 056365a, whose tools/train_crossencoder.py trains the fold models
but keeps only their out-of-fold logits:

    git archive 056365a | tar -x -C /tmp/s6 && cd /tmp/s6
    HF_HUB_OFFLINE=1 PYTHONPATH=. nice -n 10 /path/to/citebot/.venv/bin/python \
        /path/to/citebot/tools/reader_folds.py --rows ROWS.json --out DIR

ROWS.json is the pairs file of a `train_crossencoder --rows ROWS.json` run at that commit (the
frozen states are cached beside it). Same recipe and seed as session 6 (layers 2-5, lr 2e-4,
3 epochs, edited twins, one thread); each fold model's logits on its held-out rows are compared
with ROWS.oof.npy when that file is there. Writes DIR/fold0.safetensors and DIR/fold1.safetensors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file

import tools.train_crossencoder as tc  # type: ignore[import-not-found]  # only at 056365a
from retrieval.crossencoder_torch import PairScorer, base_model, tuned_keys  # type: ignore[import-not-found]
from retrieval.embedding import resolve_model


def main() -> int:
    """Train each fold's model on the other fold's articles and save its tuned layers and head."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--squad2", type=Path, default=Path("/work/shared/eval/squad2-dev"))
    parser.add_argument("--xquad", type=Path, default=Path("/work/shared/eval/xquad-articles"))
    mine = parser.parse_args()
    torch.manual_seed(tc.SEED)
    torch.set_num_threads(1)
    args = tc.parse(["--squad2", str(mine.squad2), "--xquad", str(mine.xquad), "--rows", str(mine.rows)])
    base = PairScorer(base_model(Path(resolve_model("all-MiniLM-L6-v2"))))
    rows, states = tc.load(args, base)
    labels = np.array([float(r["y"]) for r in rows])
    fold = tc.folds_of(rows)
    reference = mine.rows.with_suffix(".oof.npy")
    for k in range(tc.FOLDS):
        model = tc.train(base, states, labels, [i for i in range(len(rows)) if fold[i] != k], tc.EPOCHS)
        keep = tuned_keys(model, tc.FIRST)
        arrays = {
            n: v.detach().numpy().astype(np.float32) for n, v in model.state_dict().items() if n in keep
        }
        arrays["platt"] = np.array([1.0, 0.0], dtype=np.float32)
        arrays["first"] = np.array([tc.FIRST], dtype=np.int64)
        mine.out.mkdir(parents=True, exist_ok=True)
        save_file(arrays, str(mine.out / f"fold{k}.safetensors"))
        if reference.exists():
            held = [i for i in range(len(rows)) if fold[i] == k and rows[i]["kind"] != "edited"]
            gap = np.max(np.abs(tc.predict(model, states, held) - np.load(reference)[held]))
            print(f"fold {k}: largest difference from the out-of-fold logits on file {gap:.2e}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
