"""Calibrate the extractive answerer on the dev split of xquad-articles (never on test).

Usage: .venv/bin/python -m tools.calibrate_answers --articles PATH --questions PATH
       [--more ARTICLES QUESTIONS ...] [--fit-only]

Retrieves each dev question twice: from a knowledge base of all 48 articles (answerable), and
from one that lacks the question's article (what a question about an article that was never
added looks like; six knowledge bases, each without 8 of the articles). It prints, from the code
as it is:
- the sentence ranker refit: top-1 in 5-fold cross-validation by article, and the weights
  fitted on all of dev (to copy into retrieval/answer.py WEIGHTS); --more adds the dev questions
  of another set (squad2-dev) to the ranker's fit, and --fit-only stops there;
- the abstention gate's trade-off: the share of answerable questions answered against the share
  of left-out questions that abstain, over a grid of its four floors (min_dense_score,
  min_overlap, min_coverage, min_sentence_cosine);
- the answer ranker's sentence accuracy at top 1 and top 2;
- what showing the runner-up sentence as well does, for a grid of second_sentence_ratio.
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli import evaluation as ev
from config.loader import load_settings
from retrieval import answer as ans
from retrieval.compose import build_service, scratch_settings
from retrieval.embedding import MemoEmbedder, SentenceTransformerEmbedder
from retrieval.models import Passage


@dataclass
class Case:
    question: ev.EvalQuestion
    vector: np.ndarray
    present: list[Passage]
    present_vectors: dict[str, np.ndarray]
    left_out: list[Passage]
    left_out_vectors: dict[str, np.ndarray]


def retrieve(articles_path: Path, questions_path: Path, folds: int = 6) -> list[Case]:
    """Retrieve every dev question with its article present and, in a real index, left out.

    The left-out runs ingest all articles but one fold of them (8 articles for 6 folds), as
    `citebot eval --withhold 8` does, so BM25 statistics are those of a corpus without them.
    With folds=0 there are no left-out runs (the ranker's fit needs none).
    """
    settings = load_settings()
    articles = ev.load_articles(articles_path)
    questions = ev.load_questions(questions_path, "dev")
    embedder = MemoEmbedder(SentenceTransformerEmbedder(settings.embedding))
    order = sorted(a.id for a in articles)
    random.Random(ev.WITHHOLD_SEED).shuffle(order)
    groups = [set(order[i::folds]) for i in range(folds)]
    present: dict[str, tuple[list[Passage], dict[str, np.ndarray]]] = {}
    left_out: dict[str, tuple[list[Passage], dict[str, np.ndarray]]] = {}
    for group in [set(), *(groups if folds else [])]:
        with tempfile.TemporaryDirectory(prefix="citebot-calibrate-") as tmp:
            local = scratch_settings(settings, Path(tmp), "calibrate")
            service = build_service(local, embedder=embedder)
            ev.ingest(service, [a for a in articles if a.id not in group], progress=False)
            for q in questions:
                if group and q.article_id not in group:
                    continue
                query = service.prepare(q.question, k=ans.ANSWER_DEPTH)
                found = service.retrieve(query, service.embed(query))
                (left_out if group else present)[q.id] = (found.passages, found.sentence_vectors)
    absent: tuple[list[Passage], dict[str, np.ndarray]] = ([], {})
    return [
        Case(q, embedder.encode([q.question])[0], *present[q.id], *left_out.get(q.id, absent))
        for q in questions
    ]


def gate_inputs(
    c: Case, pool: list[Passage], vectors: dict[str, np.ndarray]
) -> tuple[float, float, float, float]:
    """Return (best cosine, sentence overlap, passage coverage, sentence cosine) as the gate sees them."""
    ranked = ans.rank_sentences(c.question.question, pool, c.vector, vectors)
    dense = max((p.dense or 0.0 for p in pool), default=0.0)
    if not ranked:
        return dense, 0.0, 0.0, 0.0
    return dense, ranked[0].overlap, ans.coverage(c.question.question, pool), ranked[0].cosine


def _nll(w: np.ndarray, groups: list[tuple[np.ndarray, np.ndarray]], l2: float) -> tuple[float, np.ndarray]:
    """Conditional-logit loss: -log P(a gold sentence) per question, softmax over its sentences."""
    total, grad = l2 * float(w @ w), 2 * l2 * w
    for x, y in groups:
        s = x @ w
        e = np.exp(s - s.max())
        p = e / e.sum()
        gold = e[y] / e[y].sum()
        total -= math.log(e[y].sum() / e.sum())
        grad = grad - (x[y] * gold[:, None]).sum(axis=0) + (x * p[:, None]).sum(axis=0)
    return total, grad


def ranker_rows(
    sets: dict[str, list[Case]],
) -> list[tuple[str, np.ndarray, np.ndarray, list[ans.SentenceFeatures], Case]]:
    """Return, per dev question with sentences, (set/article, features, gold flags, sentences, case)."""
    data = []
    for name, cases in sets.items():
        for c in cases:
            feats = [
                f
                for f in ans.features(c.question.question, c.present, c.vector, c.present_vectors)
                if not f.heading  # never shown as the answer, so not ranked
            ]
            if not feats:
                continue
            x = np.array([[f.values[name] for name in ans.FEATURES] for f in feats])
            y = np.array([ev.answer_contains(f.text, c.question.answers) for f in feats])
            data.append((f"{name}/{c.question.article_id}", x, y, feats, c))
    return data


def cross_validate(
    data: list[tuple[str, np.ndarray, np.ndarray]], l2: float = 0.03, folds: int = 5
) -> tuple[dict[str, int], np.ndarray]:
    """Return top-1 hits per set in k-fold cross-validation by article, and the weights fitted on all rows.

    Rows are (set/article, features, gold flags); the features may hold columns beyond FEATURES.
    """
    from scipy.optimize import minimize

    articles = sorted({a for a, _, _ in data})
    fold = {a: i % folds for i, a in enumerate(articles)}

    def fit(rows: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        trainable = [(x, y) for x, y in rows if y.any()]
        start = np.zeros(data[0][1].shape[1])
        return np.asarray(minimize(_nll, start, args=(trainable, l2), jac=True, method="L-BFGS-B").x)

    hits: dict[str, int] = {}
    for k in range(folds):
        w = fit([(x, y) for a, x, y in data if fold[a] != k])
        for a, x, y in data:
            name = a.split("/")[0]
            hits[name] = hits.get(name, 0) + (fold[a] == k and bool(y[np.argmax(x @ w)]))
    return hits, fit([(x, y) for _, x, y in data])


def fit_ranker(sets: dict[str, list[Case]], l2: float = 0.03, folds: int = 5) -> None:
    """Fit the sentence ranker's weights; print 5-fold (by article) top-1 and the weights on all of dev."""
    data = [(a, x, y) for a, x, y, *_ in ranker_rows(sets)]
    hits, weights = cross_validate(data, l2, folds)
    shipped = np.array([ans.WEIGHTS.get(name, 0.0) for name in ans.FEATURES])
    for name, cases in sets.items():
        current = sum(bool(y[np.argmax(x @ shipped)]) for a, x, y in data if a.startswith(f"{name}/"))
        print(f"sentence ranker top-1 on {name} dev: shipped weights {current / len(cases):.4f}, ", end="")
        print(f"refit {hits.get(name, 0) / len(cases):.4f} in {folds}-fold cross-validation by article")
    print(
        "weights fitted on all of dev:",
        {n: round(float(v), 2) for n, v in zip(ans.FEATURES, weights, strict=True)},
    )


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, required=True, help="xquad-articles articles.jsonl")
    parser.add_argument("--questions", type=Path, required=True, help="xquad-articles questions.jsonl")
    parser.add_argument(
        "--more",
        nargs=2,
        action="append",
        default=[],
        type=Path,
        metavar=("ARTICLES", "QUESTIONS"),
        help="another set whose dev questions join the ranker's fit (e.g. squad2-dev)",
    )
    parser.add_argument("--fit-only", action="store_true", help="fit the sentence ranker and stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the ranker refit, the gate's trade-off and the second-sentence grid on dev."""
    args = _arguments(argv)
    cases = retrieve(args.articles, args.questions, folds=0 if args.fit_only else 6)
    n = len(cases)
    sets = {args.questions.parent.name: cases}
    sets.update({q.parent.name: retrieve(a, q, folds=0) for a, q in args.more})
    fit_ranker(sets)
    if args.fit_only:
        return 0
    present = [gate_inputs(c, c.present, c.present_vectors) for c in cases]
    absent = [gate_inputs(c, c.left_out, c.left_out_vectors) for c in cases]

    print(f"abstention gate on {n} dev questions (answered = answerable and not abstained)")
    header = (
        "min_dense_score  min_overlap  min_coverage  min_sentence_cosine  answered  abstained_when_left_out"
    )
    p, q = np.array(present), np.array(absent)
    rows = []
    for dense in (*np.arange(0.5, 2.01, 0.1), 100.0):  # 100: the term all but switched off
        for overlap in (*np.arange(0.8, 3.01, 0.2), 100.0):
            for cover in (*np.arange(1.0, 4.01, 0.25), 100.0):
                for cosine in (*np.arange(0.5, 2.01, 0.1), 100.0):
                    weights = np.array([1 / dense, 1 / overlap, 1 / cover, 1 / cosine])
                    answered = float((p @ weights >= 1).mean())
                    abstained = float((q @ weights < 1).mean())
                    rows.append((answered, abstained, dense, overlap, cover, cosine))
    for floor in (0.94, 0.95, 0.96, 0.97):
        print(f"best with at least {floor} abstaining:\n{header}")
        for answered, abstained, *mins in sorted(r for r in rows if r[1] >= floor)[::-1][:3]:
            cells = "  ".join(f"{v:>{w}.3f}" for v, w in zip(mins, (15, 11, 12, 19), strict=True))
            print(f"{cells}  {answered:8.3f}  {abstained:23.3f}")

    ranked = [ans.rank_sentences(c.question.question, c.present, c.vector, c.present_vectors) for c in cases]
    good = [
        [ev.answer_contains(s.text, c.question.answers) for s in r]
        for c, r in zip(cases, ranked, strict=True)
    ]
    print(f"\nsentence ranker: top-1 {sum(g[:1] == [True] for g in good) / n:.3f}, ", end="")
    print(f"top-2 {sum(any(g[:2]) for g in good) / n:.3f}")
    print("second_sentence_ratio  answer_accuracy  two_sentence_answers  (no gate)")
    for ratio in (0.0, 0.4, 0.5, 0.6, 0.7, 0.8):
        hits = two = 0
        for r, g in zip(ranked, good, strict=True):
            both = ratio > 0 and len(r) > 1 and r[0].score - r[1].score <= -math.log(ratio)
            two += both
            hits += bool(g[:1] == [True] or (both and g[1]))
        print(f"{ratio:21.1f}  {hits / n:15.3f}  {two / n:20.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
