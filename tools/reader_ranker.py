"""EXPERIMENT (session 8, not shipped): a trained cross-encoder reader as a feature of sentence selection.

Usage:
  HF_HUB_OFFLINE=1 .venv/bin/python -m tools.reader_ranker seed --delta D --real-seed PATH [--top 3]
  HF_HUB_OFFLINE=1 .venv/bin/python -m tools.reader_ranker dev --fold-deltas D0 D1 \
      --xquad DIR --squad2 DIR [--top 3]
  HF_HUB_OFFLINE=1 .venv/bin/python -m tools.reader_ranker cost --delta D --real-seed PATH

The reader is session 6's cross-encoder (docs/answerability.md, "Session 6"): the packaged
all-MiniLM-L6-v2 with layers 2-5 and a head fine-tuned on dev splits only, read as
`[CLS] question [SEP] sentence [SEP] sentence before [SEP]`. A delta file holds the tuned layers
and the head (`make answerability` at commit 056365a builds the all-dev one; its fold models come
from that commit's tools/train_crossencoder.py, one per fold of articles, see docs/answerability.md
"Session 8"). Nothing here is used by citebot.

- `seed`: the seed question set (tests/data/seed_questions.jsonl) on the shipped article and on
  the user's document; for each question the ranker's first `--top` distinct sentences are read
  by the reader. Prints how often the ranker's first, and the reader's best of them, holds a gold
  answer, and the reader's order for the questions the ranker gets wrong.
- `dev`: every dev question of xquad-articles and squad2-dev (as tools/calibrate_answers asks
  them); the first `--top` candidates are read by the fold model that never saw the question's
  article; the reader's logit joins the ranker's features and the ranker is refit with the same
  5-fold cross-validation by article as tools/calibrate_answers. Prints top-1 before and after,
  and the reader alone, and when the ranker is in doubt (top-2 gap below a margin).
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval import answer as ans

MAX_LENGTH = 128
FOLD_SEED = 13  # session 6's fold assignment (tools/train_crossencoder.py folds_of at 056365a)
MARGINS = (0.25, 0.511, 1.0, 2.0)


@dataclass(frozen=True)
class Candidate:
    """A sentence the ranker put among its first, with the sentence before it in its passage."""

    index: int  # in the features list
    text: str
    before: str


def candidates(feats: list[ans.SentenceFeatures], scores: np.ndarray, top: int) -> list[Candidate]:
    """Return the first `top` distinct sentences by score, each with the sentence before it."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for i in np.argsort(-scores, kind="stable"):
        f = feats[int(i)]
        if f.text in seen:
            continue  # chunks overlap: the same sentence from the next chunk
        seen.add(f.text)
        before = max(
            (b for b in feats if b.passage == f.passage and b.end <= f.start and not b.heading),
            key=lambda b: b.end,
            default=None,
        )
        out.append(Candidate(int(i), f.text, before.text if before else ""))
        if len(out) == top:
            break
    return out


def session6_folds(articles: list[str]) -> dict[str, int]:
    """Return the fold of each dev article as session 6 assigned them (squad2 articles alternate)."""
    squad = sorted(a for a in articles if a.startswith("sq2"))
    others = sorted(set(articles) - set(squad))
    random.Random(FOLD_SEED).shuffle(others)
    return {a: i % 2 for i, a in enumerate(squad)} | {a: i % 2 for i, a in enumerate(others)}


class Reader:
    """The packaged MiniLM with a session-6 delta loaded: (question, candidates) -> logits, in torch."""

    def __init__(self, delta: Path) -> None:
        import torch
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
        from transformers import AutoModel

        from retrieval.embedding import resolve_model

        model_dir = Path(resolve_model("all-MiniLM-L6-v2"))
        self.bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
        arrays = load_file(str(delta))
        tuned = {k[5:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("bert.")}
        missing = set(tuned) - set(self.bert.state_dict())
        if missing:
            raise SystemExit(f"{delta}: unknown tensors {sorted(missing)[:3]}")
        self.bert.load_state_dict(tuned, strict=False)
        self.head = torch.nn.Linear(2 * self.bert.config.hidden_size, 1)
        self.head.load_state_dict(
            {"weight": torch.from_numpy(arrays["head.weight"]), "bias": torch.from_numpy(arrays["head.bias"])}
        )
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_LENGTH, strategy="only_second")
        pad = "[PAD]"
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id(pad) or 0, pad_token=pad)

    def logits(self, question: str, found: list[Candidate]) -> np.ndarray | None:
        """Return one logit per candidate, or None when the question alone fills a pair."""
        import torch

        pairs = [(question, f"{c.text} [SEP] {c.before}" if c.before else c.text) for c in found]
        try:
            enc = self.tokenizer.encode_batch(pairs)
        except Exception:  # noqa: BLE001 - tokenizers raises a bare Exception when the question fills the pair
            return None
        feed = {
            "input_ids": torch.tensor([e.ids for e in enc]),
            "attention_mask": torch.tensor([e.attention_mask for e in enc]),
            "token_type_ids": torch.tensor([e.type_ids for e in enc]),
        }
        with torch.inference_mode():
            hidden = self.bert(**feed).last_hidden_state
            weights = feed["attention_mask"][..., None].to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            return np.asarray(self.head(torch.cat([hidden[:, 0], mean], -1)).squeeze(-1).numpy())


def shipped_scores(x: np.ndarray) -> np.ndarray:
    """Return the shipped ranker's score of each sentence (rows of FEATURES values)."""
    return np.asarray(x[:, : len(ans.FEATURES)] @ np.array([ans.WEIGHTS[n] for n in ans.FEATURES]))


def with_reader(x: np.ndarray, found: list[Candidate], logits: np.ndarray, texts: list[str]) -> np.ndarray:
    """Return the features plus two columns: read by the reader (0/1), and its logit when read."""
    read = {c.text: float(v) for c, v in zip(found, logits, strict=True)}
    flag = np.array([float(t in read) for t in texts])
    value = np.array([read.get(t, 0.0) for t in texts])
    return np.column_stack([x, flag, value])


def _seed(args: argparse.Namespace) -> int:
    from cli.evaluation import answer_contains
    from config.loader import load_settings
    from retrieval.embedding import SentenceTransformerEmbedder
    from tools.real_text import service

    reader = Reader(args.delta)
    embedder = SentenceTransformerEmbedder(load_settings().embedding)
    embedder.load()
    rows = [json.loads(line) for line in args.questions.read_text("utf-8").splitlines()]
    for name in ("shipped", "real"):
        svc = service(embedder)
        svc.seed() if name == "shipped" else svc.add_source(str(args.real_seed))
        first = best = held = 0
        for r in (r for r in rows if not r.get("abstain")):
            query = svc.prepare(r["question"], k=ans.ANSWER_DEPTH)
            vector = svc.embed(query)
            got = svc.retrieve(query, vector)
            feats = [
                f
                for f in ans.features(
                    r["question"], got.passages[: ans.ANSWER_DEPTH], vector, got.sentence_vectors
                )
                if not f.heading
            ]
            found = candidates(feats, shipped_scores(_matrix(feats)), args.top)
            logits = reader.logits(r["question"], found) if found else None
            if logits is None:
                continue
            gold = [answer_contains(c.text, r["answers"]) for c in found]
            first, best, held = first + gold[0], best + gold[int(np.argmax(logits))], held + any(gold)
            if not gold[0]:
                print(f"  {name}: {r['question']}")
                for n in np.argsort(-logits):
                    print(
                        f"    ranker #{n} reader {logits[n]:6.2f} {'*' if gold[n] else ' '} {found[n].text[:90]}"
                    )
        print(
            f"seed set, {name}: ranker's first {first}, reader's best of {args.top} {best}, "
            f"a gold sentence among them {held}"
        )
    return 0


def _matrix(feats: list[ans.SentenceFeatures]) -> np.ndarray:
    return np.array([[f.values[n] for n in ans.FEATURES] for f in feats])


def _dev_rows(args: argparse.Namespace) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Return per dev question (set/article, features, features + reader, gold flags, candidate rows)."""
    from tools.calibrate_answers import ranker_rows, retrieve

    sets = {
        d.name: retrieve(d / "articles.jsonl", d / "questions.jsonl", folds=0)
        for d in (args.xquad, args.squad2)
    }
    data = ranker_rows(sets)
    fold = session6_folds(sorted({c.question.article_id for *_, c in data}))
    print(f"{len(fold)} dev articles in 2 folds", flush=True)
    readers = [Reader(path) for path in args.fold_deltas]
    out = []
    for a, x, y, feats, c in data:
        found = candidates(feats, shipped_scores(x), args.top)
        logits = readers[fold[c.question.article_id]].logits(c.question.question, found)
        if logits is None:
            logits = np.zeros(len(found))
        texts = [f.text for f in feats]
        out.append((a, x, with_reader(x, found, logits, texts), y, np.array([cand.index for cand in found])))
    return out


def _dev(args: argparse.Namespace) -> int:
    from tools.calibrate_answers import cross_validate

    rows = _dev_rows(args)
    sets = sorted({a.split("/")[0] for a, *_ in rows})
    size = {s: sum(1 for a, *_ in rows if a.startswith(f"{s}/")) for s in sets}
    for label, cut in (("ranker features", 0), ("+ read by the reader", 1), ("+ read + reader logit", 2)):
        data = [(a, x2[:, : x2.shape[1] - 2 + cut], y) for a, _, x2, y, _ in rows]
        hits, w = cross_validate(data)
        figures = ", ".join(f"{s} {hits.get(s, 0) / size[s]:.4f}" for s in sets)
        print(f"5-fold CV top-1, {label}: {figures}; added weights {np.round(w[len(ans.FEATURES) :], 3)}")
    for s in sets:
        mine = [r for r in rows if r[0].startswith(f"{s}/")]
        first = sum(bool(y[int(np.argmax(shipped_scores(x)))]) for _, x, _, y, _ in mine)
        best = sum(bool(y[idx[int(np.argmax(x2[idx, -1]))]]) for _, _, x2, y, idx in mine if len(idx))
        held = sum(bool(y[idx].any()) for _, _, _, y, idx in mine if len(idx))
        print(
            f"{s}: ranker's first {first}/{len(mine)}, reader's best of {args.top} {best}, gold among them {held}"
        )
        for margin in MARGINS:
            doubt = [r for r in mine if len(r[4]) > 1 and _gap(r) < margin]
            ranker = sum(bool(y[idx[0]]) for _, _, _, y, idx in doubt)
            reader = sum(bool(y[idx[int(np.argmax(x2[idx[:2], -1]))]]) for _, _, x2, y, idx in doubt)
            print(
                f"  top-2 gap < {margin}: {len(doubt)} questions, ranker's first {ranker}, reader's pick of two {reader}"
            )
    return 0


def _gap(row: tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> float:
    scores = shipped_scores(row[1])
    return float(scores[row[4][0]] - scores[row[4][1]])


def _cost(args: argparse.Namespace) -> int:
    """Time the reader on the first 1, 2, 3, 5 candidates against one query embedding, interleaved."""
    import time

    from cli.benchscale import plain_torch_model
    from config.loader import load_settings
    from retrieval.embedding import SentenceTransformerEmbedder
    from tools.real_text import service

    settings = load_settings()
    reader, floor = Reader(args.delta), plain_torch_model(settings)
    embedder = SentenceTransformerEmbedder(settings.embedding)
    embedder.load()
    svc = service(embedder)
    svc.add_source(str(args.real_seed))
    asked = []
    for r in (json.loads(line) for line in args.questions.read_text("utf-8").splitlines()):
        query = svc.prepare(r["question"], k=ans.ANSWER_DEPTH)
        vector = svc.embed(query)
        got = svc.retrieve(query, vector)
        pool = got.passages[: ans.ANSWER_DEPTH]
        feats = [f for f in ans.features(r["question"], pool, vector, got.sentence_vectors) if not f.heading]
        if feats:
            asked.append((r["question"], candidates(feats, shipped_scores(_matrix(feats)), 5)))
    times: dict[str, list[float]] = {}
    for _ in range(3):
        for question, found in asked:
            for name, run in [("query embedding", lambda q=question: floor.encode([q]))] + [
                (f"reader, {k} candidates", lambda q=question, f=found[:k]: reader.logits(q, f))
                for k in (1, 2, 3, 5)
            ]:
                start = time.perf_counter()
                run()
                times.setdefault(name, []).append(1000 * (time.perf_counter() - start))
    base = float(np.median(times["query embedding"]))
    for name, ms in times.items():
        print(f"{name}: p50 {np.median(ms):.1f} ms = {np.median(ms) / base:.1f}x one query embedding")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the seed or the dev measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed", help="the seed question set on both texts, read by the all-dev reader")
    seed.add_argument("--delta", type=Path, required=True, help="the reader's delta (tuned layers and head)")
    seed.add_argument("--real-seed", type=Path, required=True, help="the user's seed document (a .txt)")
    seed.add_argument("--questions", type=Path, default=Path("tests/data/seed_questions.jsonl"))
    dev = sub.add_parser("dev", help="dev top-1 of the ranker with and without the reader, cross-validated")
    dev.add_argument("--fold-deltas", type=Path, nargs=2, required=True, help="fold 0 and fold 1 readers")
    dev.add_argument("--xquad", type=Path, required=True, help="the xquad-articles directory")
    dev.add_argument("--squad2", type=Path, required=True, help="the squad2-dev directory")
    cost = sub.add_parser("cost", help="the reader's time per ask against one query embedding (one thread)")
    cost.add_argument("--delta", type=Path, required=True, help="the reader's delta (tuned layers and head)")
    cost.add_argument("--real-seed", type=Path, required=True, help="the user's seed document (a .txt)")
    cost.add_argument("--questions", type=Path, default=Path("tests/data/seed_questions.jsonl"))
    for p in (seed, dev):
        p.add_argument("--top", type=int, default=3, help="candidates read per question")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # a shared machine: one thread
    return {"seed": _seed, "dev": _dev, "cost": _cost}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
