"""Calibrate the extractive answerer on the dev split of xquad-articles (never on test).

Usage: .venv/bin/python tools/calibrate_answers.py [--articles PATH] [--questions PATH]

Retrieves each dev question twice: from a knowledge base of all 48 articles (answerable), and
from one that lacks the question's article (what a question about an article that was never
added looks like; six knowledge bases, each without 8 of the articles). It prints, from the code
as it is:
- the abstention gate's trade-off: the share of answerable questions answered against the share
  of left-out questions that abstain, for a grid of (min_dense_score, min_overlap);
- the answer ranker's sentence accuracy at top 1 and top 2;
- what showing the runner-up sentence as well does, for a grid of second_sentence_ratio.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.loader import load_settings  # noqa: E402
from retrieval import answer as ans  # noqa: E402
from retrieval import evaluation as ev  # noqa: E402
from retrieval.embedding import SentenceTransformerEmbedder  # noqa: E402
from retrieval.models import Passage  # noqa: E402
from retrieval.service import CitebotService  # noqa: E402
from retrieval.store import ChromaStore  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "xquad-articles"


@dataclass
class Case:
    question: ev.EvalQuestion
    present: list[Passage]
    left_out: list[Passage]


class MemoEmbedder:
    """The real embedder, remembering each text's vector across the folds' knowledge bases."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.memo: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.inner.encode(missing), strict=True))
        return np.stack([self.memo[t] for t in texts]) if texts else self.inner.encode([])


def retrieve(articles_path: Path, questions_path: Path, folds: int = 6) -> list[Case]:
    """Retrieve every dev question with its article present and, in a real index, left out.

    The left-out runs ingest all articles but one fold of them (8 articles for 6 folds), as
    `citebot eval --withhold 8` does, so BM25 statistics are those of a corpus without them.
    """
    settings = load_settings()
    articles = ev.load_articles(articles_path)
    questions = ev.load_questions(questions_path, "dev")
    embedder = MemoEmbedder(SentenceTransformerEmbedder(settings.embedding))
    order = sorted(a.id for a in articles)
    random.Random(ev.WITHHOLD_SEED).shuffle(order)
    groups = [set(order[i::folds]) for i in range(folds)]
    present: dict[str, list[Passage]] = {}
    left_out: dict[str, list[Passage]] = {}
    for group in [set(), *groups]:
        with tempfile.TemporaryDirectory(prefix="citebot-calibrate-") as tmp:
            local = settings.model_copy(
                update={
                    "data_dir": Path(tmp),
                    "kb": "calibrate",
                    "chroma": settings.chroma.model_copy(update={"url": None}),
                    "llm": settings.llm.model_copy(update={"provider": "none"}),
                }
            )
            service = CitebotService(local, embedder, ChromaStore.from_settings(local))  # type: ignore[arg-type]
            ev.ingest(service, [a for a in articles if a.id not in group], progress=False)
            kb = service.kb()
            for q in questions:
                if group and q.article_id not in group:
                    continue
                vector = embedder.encode([q.question])[0]
                found = kb.search(q.question, vector, local.search, ans.ANSWER_DEPTH)
                (left_out if group else present)[q.id] = found
    return [Case(q, present[q.id], left_out[q.id]) for q in questions]


def gate_inputs(question: str, pool: list[Passage]) -> tuple[float, float, float]:
    """Return (best cosine, answer sentence overlap, passage coverage) as the gate sees them."""
    ranked = ans.rank_sentences(question, pool)
    dense = max((p.dense or 0.0 for p in pool), default=0.0)
    return dense, ranked[0].overlap if ranked else 0.0, ans.coverage(question, pool)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=DATA / "articles.jsonl")
    parser.add_argument("--questions", type=Path, default=DATA / "questions.jsonl")
    args = parser.parse_args()
    cases = retrieve(args.articles, args.questions)
    n = len(cases)
    present = [gate_inputs(c.question.question, c.present) for c in cases]
    absent = [gate_inputs(c.question.question, c.left_out) for c in cases]

    print(f"abstention gate on {n} dev questions (answered = answerable and not abstained)")
    header = "min_dense_score  min_overlap  min_coverage  answered  abstained_when_left_out"
    p, q = np.array(present), np.array(absent)
    rows = []
    for dense in np.arange(0.5, 0.751, 0.025):
        for overlap in np.arange(0.8, 2.01, 0.1):
            for cover in np.arange(1.0, 3.01, 0.1):
                weights = np.array([1 / dense, 1 / overlap, 1 / cover])
                answered = float((p @ weights >= 1).mean())
                abstained = float((q @ weights < 1).mean())
                rows.append((answered, abstained, dense, overlap, cover))
    for floor in (0.94, 0.95, 0.96, 0.97):
        print(f"best with at least {floor} abstaining:\n{header}")
        for answered, abstained, dense, overlap, cover in sorted(r for r in rows if r[1] >= floor)[::-1][:3]:
            print(f"{dense:15.3f}  {overlap:11.2f}  {cover:12.2f}  {answered:8.3f}  {abstained:23.3f}")

    ranked = [ans.rank_sentences(c.question.question, c.present) for c in cases]
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
