"""Train the answerability head (retrieval/data/answerability.safetensors) on dev splits only.

Usage: .venv/bin/python -m tools.train_answerability --squad2 DIR --xquad DIR [--out PATH] [--cache PATH]
(or `make answerability`). Deterministic: fixed seeds, one torch thread pool size.

Data (CC BY-SA 4.0, see docs/quality.md): the dev questions of ../shared/eval/squad2-dev
(answerable and unanswerable, over its 4 dev articles) and of ../shared/eval/xquad-articles
(each asked with its article present, and again from a knowledge base without it). Every
question is asked the way citebot asks it; the first CANDIDATES sentences of the ranking are
read together with the question by the packaged all-MiniLM-L6-v2 (frozen), and the head learns
whether each one contains a gold answer. It prints the out-of-fold figures (folds by article)
that docs/quality.md quotes, fits Platt scaling on the out-of-fold logits, trains on all of dev
and writes the weights with their sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cli import evaluation as ev
from cli.unanswerable import load_unanswerable
from config.loader import load_settings
from retrieval import answer as ans
from retrieval import answerability as ab
from retrieval.compose import build_service, scratch_settings
from retrieval.embedding import MemoEmbedder, SentenceTransformerEmbedder
from retrieval.models import Passage
from tools.answerability_head import TorchHead, fit_platt, predict, train
from tools.calibrate_answers import retrieve

FOLDS = 4
SEED = 13


def rows_for(
    embedder: Any,
    question: str,
    pool: list[Passage],
    vector: np.ndarray,
    vectors: dict,
    *,
    golds: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Return one training row per candidate sentence: its states, lexical features and label."""
    ranked = ans.rank_sentences(question, pool, vector, vectors)
    _, found = ab.candidates_from(ranked, pool)
    if not found:
        return []
    found = ab._with_cues(question, found)
    states = embedder.pair_states(question, [c.context for c in found]) or []
    dense = max((p.dense or 0.0 for p in pool), default=0.0)
    lexical = ab.lexical_features(question, found, dense, ans.coverage(question, pool))
    out = []
    for c, s, f in zip(found, states, lexical, strict=True):
        rows = ab.content_rows(s) or list(range(len(s.question)))
        label = bool(golds) and ev.answer_contains(c.text, golds)
        out.append(
            {"q": s.question[rows].astype(np.float16), "c": s.context.astype(np.float16), "f": f, "y": label}
        )
    return out


def squad_rows(embedder: MemoEmbedder, squad: Path, limit: int = 0) -> list[dict[str, Any]]:
    """Ask every squad2-dev dev question over a knowledge base of its dev articles."""
    split = {r["id"]: r["split"] for r in ev.read_jsonl(squad / "articles.jsonl")}
    articles = [a for a in ev.load_articles(squad / "articles.jsonl") if split[a.id] == "dev"]
    asked = [
        (q.question, q.answers, q.article_id, "answerable")
        for q in ev.load_questions(squad / "questions.jsonl", "dev")
    ]
    asked += [
        (u.question, (), u.article_id, "unanswerable")
        for u in load_unanswerable(squad / "unanswerable.jsonl", "dev")
    ]
    if limit:
        asked = asked[: limit // 2] + asked[-limit // 2 :]
    out = []
    with tempfile.TemporaryDirectory(prefix="citebot-answerability-") as tmp:
        local = scratch_settings(load_settings(), Path(tmp), "answerability")
        service = build_service(local, embedder=embedder)
        ev.ingest(service, articles, progress=False)
        for n, (question, golds, article, kind) in enumerate(asked):
            query = service.prepare(question, k=ans.ANSWER_DEPTH)
            vector = service.embed(query)
            found = service.retrieve(query, vector)
            for row in rows_for(
                embedder, question, found.passages, vector, found.sentence_vectors, golds=golds
            ):
                out.append(row | {"question": n, "article": article, "kind": kind})
    return out


def xquad_rows(embedder: MemoEmbedder, xquad: Path) -> list[dict[str, Any]]:
    """Ask every xquad-articles dev question with its article present, and left out (first candidate)."""
    out = []
    for n, c in enumerate(retrieve(xquad / "articles.jsonl", xquad / "questions.jsonl")):
        q = c.question
        for row in rows_for(embedder, q.question, c.present, c.vector, c.present_vectors, golds=q.answers):
            out.append(row | {"question": 100_000 + n, "article": q.article_id, "kind": "answerable"})
        for row in rows_for(embedder, q.question, c.left_out, c.vector, c.left_out_vectors, golds=())[:1]:
            out.append(row | {"question": 200_000 + n, "article": q.article_id, "kind": "left out"})
    return out


def folds_of(rows: list[dict[str, Any]]) -> np.ndarray:
    """Assign every row a fold by its article: each squad2 dev article is one fold."""
    squad = sorted({r["article"] for r in rows if str(r["article"]).startswith("sq2")})
    others = sorted({r["article"] for r in rows} - set(squad))
    random.Random(SEED).shuffle(others)
    fold = {a: i % FOLDS for i, a in enumerate(squad)} | {a: i % FOLDS for i, a in enumerate(others)}
    return np.array([fold[r["article"]] for r in rows])


def report(rows: list[dict[str, Any]], probability: np.ndarray, *, rerank: bool) -> None:
    """Print, per threshold, what judging each question's first (or most probable) sentence would do."""
    best: dict[int, int] = {}
    for i, r in enumerate(rows):
        if r["question"] not in best or (rerank and probability[i] > probability[best[r["question"]]]):
            best[r["question"]] = i
    print("the most probable of the candidates" if rerank else "the ranker's first sentence")
    for source, prefix in (("squad2-dev", "sq2"), ("xquad-articles", "")):
        chosen = [i for i in best.values() if str(rows[i]["article"]).startswith(prefix)]
        if not prefix:
            chosen = [i for i in chosen if not str(rows[i]["article"]).startswith("sq2")]
        yes = [i for i in chosen if rows[i]["kind"] == "answerable"]
        no = [i for i in chosen if rows[i]["kind"] != "answerable"]
        print(f"{source} dev, out of fold: {len(yes)} answerable, {len(no)} unanswerable or left out")
        print("threshold  answered  right  abstained_on_unanswerable")
        for t in np.arange(0.05, 0.65, 0.05):
            answered = np.mean([probability[i] >= t for i in yes])
            right = np.mean([probability[i] >= t and rows[i]["y"] for i in yes])
            abstained = np.mean([probability[i] < t for i in no]) if no else float("nan")
            print(f"{t:9.2f}  {answered:8.3f}  {right:5.3f}  {abstained:25.3f}")


def main(argv: list[str] | None = None) -> int:
    """Collect the dev rows (or read them from --cache), report out of fold, train and write the weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad2", type=Path, required=True, help="the squad2-dev directory")
    parser.add_argument("--xquad", type=Path, required=True, help="the xquad-articles directory")
    parser.add_argument("--out", type=Path, default=ab.weights_path())
    parser.add_argument("--cache", type=Path, help="keep the encoded rows here and reuse them")
    parser.add_argument(
        "--smoke", type=int, default=0, help="only this many squad2 questions (a quick check)"
    )
    args = parser.parse_args(argv)
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # tiny ops: a second thread only waits for the first on a busy machine
    if args.cache and args.cache.exists():
        rows = pickle.loads(args.cache.read_bytes())  # noqa: S301 - the cache this tool wrote
    else:
        embedder = MemoEmbedder(SentenceTransformerEmbedder(load_settings().embedding))
        rows = squad_rows(embedder, args.squad2, args.smoke)
        rows += xquad_rows(embedder, args.xquad) if not args.smoke else []
        if args.cache:
            args.cache.write_bytes(pickle.dumps(rows))
    fold = folds_of(rows)
    logits = np.zeros(len(rows))
    for k in range(FOLDS):
        model, scale = train([r for r, f in zip(rows, fold, strict=True) if f != k], SEED)
        held = [i for i in range(len(rows)) if fold[i] == k]
        logits[held] = predict(model, scale, [rows[i] for i in held])
    a, b = fit_platt(logits, np.array([r["y"] for r in rows], dtype=float))
    for rerank in (False, True):
        report(rows, 1 / (1 + np.exp(-(a * logits + b))), rerank=rerank)
    if args.cache:
        np.save(args.cache.with_suffix(".oof.npy"), a * logits + b)
    model, scale = train(rows, SEED)
    from safetensors.numpy import save_file

    platt = {"platt_a": np.array([a], dtype=np.float32), "platt_b": np.array([b], dtype=np.float32)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(TorchHead.export(model, scale) | platt, str(args.out))  # same bytes for the same arrays
    print(f"wrote {args.out} sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
