"""Fine-tune the answerability cross-encoder (retrieval/data/answerability-ce.safetensors) on dev only.

Usage: .venv/bin/python -m tools.train_crossencoder --squad2 DIR --xquad DIR [--rows JSON] [--out PATH]
(or `make answerability`). Deterministic: fixed seed, fixed data order, one torch thread.

The pairs come from tools/crossencoder_data.py (dev splits of squad2-dev and xquad-articles,
CC BY-SA 4.0, candidates taken the way citebot ranks them), plus an unanswerable twin or two of
each answered dev question paired with its answer sentence (tools/adversarial_questions.py).
The packaged all-MiniLM-L6-v2 is frozen below layer FIRST; its states there are computed once,
then layers FIRST.. and a classification head are trained. It prints the out-of-fold figures
(2 folds by article; the twins are trained on, never scored), fits
Platt scaling on the out-of-fold logit of each question's SHOWN sentence, trains on all of dev
and writes only the tuned layers, the head and the calibration, with their sha256.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from retrieval import answerability as ab
from retrieval import crossencoder as ce
from retrieval.crossencoder_torch import PairScorer, base_model, tuned_keys
from retrieval.embedding import resolve_model

SEED = 13
FOLDS = 2
FIRST = 2  # layers 2 to 5 of the 6 are tuned
EPOCHS = 3
BATCH = 16
LEARNING_RATE = 2e-4
HEAD_RATE = 3e-3
RERANK = False  # the ranker's first sentence is shown: the tuned model picks worse (dev)


def selected(rows: list[dict]) -> list[dict]:
    """Return the rows trained on: the candidates the check reads, a later one if it answers, left-out firsts."""
    return [
        r
        for r in rows
        if (r["rank"] < ab.CANDIDATES or r["y"]) and (r["kind"] != "left out" or r["rank"] == 0)
    ]


def edited_rows(rows: list[dict], squad: Path, xquad: Path) -> list[dict]:
    """Return unanswerable twins of the answered dev questions, each with the original answer sentence."""
    from tools.adversarial_questions import edits

    text = {
        a["id"]: a["text"]
        for d in (squad, xquad)
        for a in map(json.loads, (d / "articles.jsonl").read_text(encoding="utf-8").splitlines())
    }
    best: dict[int, dict] = {}
    for r in rows:
        if r["kind"] == "answerable" and r["y"] and r["rank"] < best.get(r["question"], {"rank": 99})["rank"]:
            best[r["question"]] = r
    out: list[dict] = []
    for q in sorted(best):
        r = best[q]
        for kind, question in edits(r["question_text"], f"{r['before']} {r['sentence']}", text[r["article"]]):
            out.append(
                r
                | {"question_text": question, "y": False, "rank": 0, "kind": "edited", "edit": kind}
                | {"question": 300_000 + len(out)}
            )
    return out


def frozen_states(scorer: PairScorer, rows: list[dict], first: int) -> list[tuple[Any, Any]]:
    """Return, per row, the hidden states after layer first-1 (float16, padding cut off), or None."""
    tokenizer = ce.pair_tokenizer(Path(resolve_model("all-MiniLM-L6-v2")))
    feeds = [ce.encode_pairs(tokenizer, r["question_text"], [(r["sentence"], r["before"])]) for r in rows]
    length = [int(f["attention_mask"].sum()) if f is not None else 0 for f in feeds]
    order = sorted((i for i in range(len(rows)) if feeds[i] is not None), key=lambda i: length[i])
    out: list[tuple[Any, Any]] = [(None, None)] * len(rows)
    bert = scorer.bert
    with torch.inference_mode():
        for lo in range(0, len(order), 32):
            part = order[lo : lo + 32]
            width = max(length[i] for i in part)
            t = {
                k: torch.from_numpy(
                    np.concatenate([np.pad(feeds[i][k], ((0, 0), (0, width - length[i]))) for i in part])  # type: ignore[index]
                )
                for k in ("input_ids", "attention_mask", "token_type_ids")
            }
            hidden = bert.embeddings(input_ids=t["input_ids"], token_type_ids=t["token_type_ids"])
            additive = (1.0 - t["attention_mask"][:, None, None, :].float()) * torch.finfo(torch.float32).min
            for layer in bert.encoder.layer[:first]:
                hidden = layer(hidden, attention_mask=additive)
                hidden = hidden[0] if isinstance(hidden, tuple) else hidden
            for j, i in enumerate(part):
                out[i] = (hidden[j, : length[i]].to(torch.float16).clone(), None)
    return out


def cached_states(base: PairScorer, rows: list[dict], path: Path | None, name: str) -> list:
    """Return the frozen states of rows, kept beside the --rows file when one is given."""
    cache = path.with_suffix(f"{name}.states{FIRST}.pt") if path else None
    if cache and cache.exists():
        return list(torch.load(cache))
    states = frozen_states(base, rows, FIRST)
    if cache:
        torch.save(states, cache)
    return states


def _batch(states: list[tuple[Any, Any]], index: list[int]) -> tuple[Any, Any]:
    width = max(states[i][0].shape[0] for i in index)
    dim = states[index[0]][0].shape[1]
    hidden = torch.zeros((len(index), width, dim))
    mask = torch.zeros((len(index), width), dtype=torch.int64)
    for j, i in enumerate(index):
        n = states[i][0].shape[0]
        hidden[j, :n] = states[i][0].float()
        mask[j, :n] = 1
    return hidden, mask


def _buckets(order: list[int], states: list, rng: random.Random) -> list[list[int]]:
    """Return shuffled batches of similar lengths (less padding), the same for the same seed."""
    order = list(order)
    rng.shuffle(order)
    batches = []
    for lo in range(0, len(order), BATCH * 16):
        chunk = sorted(order[lo : lo + BATCH * 16], key=lambda i: states[i][0].shape[0])
        batches += [chunk[b : b + BATCH] for b in range(0, len(chunk), BATCH)]
    rng.shuffle(batches)
    return batches


def train(
    base: PairScorer, states: list, labels: np.ndarray, index: list[int], epochs: int = EPOCHS
) -> PairScorer:
    """Return a copy of base with layers FIRST.. and the head trained on rows index."""
    torch.manual_seed(SEED)
    model = copy.deepcopy(base)
    keys = set(tuned_keys(model, FIRST))
    params = dict(model.named_parameters())
    for name, p in params.items():
        p.requires_grad = name in keys
    groups = [
        {
            "params": [p for n, p in params.items() if n in keys and n.startswith("bert.")],
            "lr": LEARNING_RATE,
        },
        {"params": [p for n, p in params.items() if n.startswith("head.")], "lr": HEAD_RATE},
    ]
    optimiser = torch.optim.AdamW(groups, weight_decay=0.01)
    rng = random.Random(SEED)
    order = [i for i in index if states[i][0] is not None]
    steps = epochs * ((len(order) + BATCH - 1) // BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: max(0.0, 1 - s / steps))
    model.train()
    for _ in range(epochs):
        for part in _buckets(order, states, rng):
            hidden, mask = _batch(states, part)
            y = torch.tensor(labels[part], dtype=torch.float32)
            loss = nn.functional.binary_cross_entropy_with_logits(model.top(hidden, mask, FIRST), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return model.eval()


def predict(model: PairScorer, states: list, index: list[int]) -> np.ndarray:
    """Return the logits of rows index (rows the tokenizer could not pair get -inf)."""
    out = np.full(len(index), -np.inf)
    with torch.inference_mode():
        for lo in range(0, len(index), 64):
            part = [i for i in index[lo : lo + 64] if states[i][0] is not None]
            if part:
                hidden, mask = _batch(states, part)
                got = model.top(hidden, mask, FIRST).numpy()
                where = {i: n for n, i in enumerate(index)}
                for i, v in zip(part, got, strict=True):
                    out[where[i]] = v
    return out


def folds_of(rows: list[dict]) -> np.ndarray:
    """Assign every row a fold by its article: each squad2 dev article is one fold."""
    squad = sorted({r["article"] for r in rows if str(r["article"]).startswith("sq2")})
    others = sorted({r["article"] for r in rows} - set(squad))
    random.Random(SEED).shuffle(others)
    fold = {a: i % FOLDS for i, a in enumerate(squad)} | {a: i % FOLDS for i, a in enumerate(others)}
    return np.array([fold[r["article"]] for r in rows])


def shown(rows: list[dict], logits: np.ndarray, *, rerank: bool) -> dict[int, int]:
    """Return, per question, the row of the sentence shown: the most probable of the first candidates."""
    best: dict[int, int] = {}
    for i, r in enumerate(rows):
        if r["rank"] >= ab.CANDIDATES or r["kind"] == "edited":
            continue
        q = r["question"]
        if q not in best or (rerank and logits[i] > logits[best[q]]):
            best[q] = i
    return best


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Fit p = sigmoid(a * logit + b) by maximum likelihood."""
    from scipy.optimize import minimize

    def loss(p: np.ndarray) -> float:
        z = p[0] * logits + p[1]
        return float(np.sum(np.logaddexp(0, z) - labels * z))

    fitted = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead")
    return float(fitted.x[0]), float(fitted.x[1])


def report(rows: list[dict], logits: np.ndarray, platt: tuple[float, float], *, rerank: bool) -> None:
    """Print, per threshold, what the gate and the check together would do with each question."""
    best = shown(rows, logits, rerank=rerank)
    p = {q: 1 / (1 + np.exp(-(platt[0] * logits[i] + platt[1]))) for q, i in best.items()}
    print("shown: the most probable of the candidates" if rerank else "shown: the ranker's first sentence")
    for source, squad in (("squad2-dev", True), ("xquad-articles", False)):
        mine = {q: i for q, i in best.items() if str(rows[i]["article"]).startswith("sq2") == squad}
        yes = [q for q, i in mine.items() if rows[i]["kind"] == "answerable"]
        no = [q for q, i in mine.items() if rows[i]["kind"] != "answerable"]
        print(f"{source} dev, out of fold: {len(yes)} answerable, {len(no)} unanswerable or left out")
        print("threshold  answered  right  abstained_on_unanswerable")
        for t in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            said = {q: rows[mine[q]]["gate"] and p[q] >= t for q in mine}
            answered = np.mean([said[q] for q in yes])
            right = np.mean([said[q] and rows[mine[q]]["y"] for q in yes])
            abstained = np.mean([not said[q] for q in no])
            print(f"{t:9.2f}  {answered:8.3f}  {right:5.3f}  {abstained:25.3f}")


def reliability(rows: list[dict], logits: np.ndarray, platt: tuple[float, float]) -> None:
    """Print the out-of-fold reliability table and ECE of the shown sentences' calibrated confidence."""
    best = shown(rows, logits, rerank=RERANK)
    conf = np.array([1 / (1 + np.exp(-(platt[0] * logits[i] + platt[1]))) for i in best.values()])
    right = np.array([float(rows[i]["y"]) for i in best.values()])
    ece = 0.0
    for lo in np.arange(0, 1, 0.1):
        inside = (conf >= lo) & (conf < lo + 0.1 + (lo >= 0.9))
        if inside.any():
            ece += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
            print(
                f"{lo:.1f}-{lo + 0.1:.1f} {inside.sum():5d} {conf[inside].mean():.3f} {right[inside].mean():.3f}"
            )
    print(f"ECE {ece:.3f}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Return the command line's arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad2", type=Path, required=True, help="the squad2-dev directory")
    parser.add_argument("--xquad", type=Path, required=True, help="the xquad-articles directory")
    parser.add_argument("--rows", type=Path, help="keep the collected pairs here (JSON) and reuse them")
    parser.add_argument("--out", type=Path, default=ce.delta_path())
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--only-fold", type=int, help="train and report one fold only (a probe)")
    parser.add_argument("--first", type=int, default=FIRST, help="the first of the layers tuned")
    parser.add_argument("--lr", type=float, default=LEARNING_RATE, help="the tuned layers' learning rate")
    parser.add_argument(
        "--no-edited",
        dest="edited",
        action="store_false",
        help="leave out the edited unanswerable twins of dev questions (tools/adversarial_questions.py)",
    )
    parser.add_argument("--no-final", action="store_true", help="only the out-of-fold report")
    parser.add_argument(
        "--final-only", action="store_true", help="skip the out-of-fold report (with --platt A B)"
    )
    parser.add_argument(
        "--platt", type=float, nargs=2, help="the calibration to write (from a --no-final run)"
    )
    return parser.parse_args(argv)


def load(args: argparse.Namespace, base: PairScorer) -> tuple[list[dict], list]:
    """Return the rows trained on (collected, or read from --rows) and their frozen states."""
    if args.rows and args.rows.exists():
        rows = json.loads(args.rows.read_text(encoding="utf-8"))
    else:
        from tools.crossencoder_data import collect

        rows = collect(args.squad2, args.xquad)
        if args.rows:
            args.rows.write_text(json.dumps(rows), encoding="utf-8")
    rows = selected(rows)
    states = cached_states(base, rows, args.rows, "")
    if args.edited:
        extra = edited_rows(rows, args.squad2, args.xquad)
        print(f"{len(extra)} edited questions", flush=True)
        states += cached_states(base, extra, args.rows, ".edited")
        rows += extra
    print(f"{len(rows)} pairs", flush=True)
    return rows, states


def out_of_fold(args: argparse.Namespace, base: PairScorer, rows: list[dict], states: list) -> np.ndarray:
    """Return every real question's logits from a model trained on the other fold's articles."""
    labels = np.array([float(r["y"]) for r in rows])
    fold = folds_of(rows)
    logits = np.zeros(len(rows))
    for k in range(FOLDS) if args.only_fold is None else [args.only_fold]:
        model = train(base, states, labels, [i for i in range(len(rows)) if fold[i] != k], args.epochs)
        held = [i for i in range(len(rows)) if fold[i] == k and rows[i]["kind"] != "edited"]
        logits[held] = predict(model, states, held)
        print(f"fold {k} done", flush=True)
    if args.rows:
        np.save(args.rows.with_suffix(".oof.npy"), logits)
    return logits


def main(argv: list[str] | None = None) -> int:
    """Collect the dev pairs (or read --rows), report out of fold, train on all of dev, write the delta."""
    global FIRST, LEARNING_RATE  # one run, one recipe
    args = parse(argv)
    FIRST, LEARNING_RATE = args.first, args.lr
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # on a shared 2-core machine a second thread waits for the first (4x slower)
    base = PairScorer(base_model(Path(resolve_model("all-MiniLM-L6-v2"))))
    rows, states = load(args, base)
    labels = np.array([float(r["y"]) for r in rows])
    if args.final_only:
        return write(base, states, labels, args)
    logits = out_of_fold(args, base, rows, states)
    best = shown(rows, logits, rerank=RERANK)
    platt = fit_platt(
        np.array([logits[i] for i in best.values()]), np.array([float(rows[i]["y"]) for i in best.values()])
    )
    print(f"Platt scaling of the shown sentence's logit: a {platt[0]:.4f}, b {platt[1]:.4f}")
    for rerank in (False, True):
        report(rows, logits, platt, rerank=rerank)
    reliability(rows, logits, platt)
    if args.no_final:
        return 0
    return write(base, states, labels, args, platt)


def write(
    base: PairScorer,
    states: list,
    labels: np.ndarray,
    args: argparse.Namespace,
    platt: tuple[float, float] = (1.0, 0.0),
) -> int:
    """Train on all of dev and write the tuned layers, the head and the calibration with their sha256."""
    if args.platt:
        platt = (args.platt[0], args.platt[1])
    model = train(base, states, labels, list(range(len(labels))), args.epochs)
    keep = tuned_keys(model, FIRST)
    arrays = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items() if k in keep}
    arrays["platt"] = np.array(platt, dtype=np.float32)
    arrays["first"] = np.array([FIRST], dtype=np.int64)
    from safetensors.numpy import save_file

    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(arrays, str(args.out))  # same bytes for the same arrays
    print(f"wrote {args.out} sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
