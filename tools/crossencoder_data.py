"""The (question, candidate sentence) pairs the answerability cross-encoder learns from: dev splits only.

Every dev question of ../shared/eval/squad2-dev (answerable and unanswerable, over a knowledge
base of its 4 dev articles) and of ../shared/eval/xquad-articles (with its article present, and
from a knowledge base without it) is asked the way citebot asks it; the first PAIRS distinct
sentences of the ranking become pairs, labelled 1 when the sentence holds a gold answer. Each
question also records whether the abstention gate let it through, as the ask would.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from cli import evaluation as ev
from cli.unanswerable import load_unanswerable
from config.loader import load_settings
from retrieval import answer as ans
from retrieval import answerability as ab
from retrieval.compose import build_service, scratch_settings
from retrieval.embedding import MemoEmbedder, SentenceTransformerEmbedder
from retrieval.models import Passage
from tools.calibrate_answers import retrieve

PAIRS = 5  # candidates per question kept for training (the check reads ab.CANDIDATES of them)


def rows_for(
    question: str, pool: list[Passage], vector: Any, vectors: dict, golds: tuple[str, ...]
) -> list[dict]:
    """Return one row per candidate sentence: the pair's texts, its rank, its label, the gate."""
    ranked = ans.rank_sentences(question, pool, vector, vectors)
    if not ranked:
        return []
    a = load_settings().answer
    gate = ans.Gate(a.min_dense_score, a.min_overlap, a.min_coverage, a.min_sentence_cosine)
    overlap = ans._support(question, ranked[0], pool)
    passed = bool(overlap) and gate.supports(pool, overlap, ans.coverage(question, pool), ranked[0].cosine)
    _, found = ab.candidates_from(ranked, pool, PAIRS)
    return [
        {
            "question_text": question,
            "sentence": c.text,
            "before": c.before,
            "rank": rank,
            "y": bool(golds) and ev.answer_contains(c.text, golds),
            "gate": passed,
        }
        for rank, c in enumerate(found)
    ]


def squad_rows(embedder: MemoEmbedder, squad: Path) -> list[dict]:
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
    out = []
    with tempfile.TemporaryDirectory(prefix="citebot-crossencoder-") as tmp:
        service = build_service(
            scratch_settings(load_settings(), Path(tmp), "crossencoder"), embedder=embedder
        )
        ev.ingest(service, articles, progress=False)
        for n, (question, golds, article, kind) in enumerate(asked):
            query = service.prepare(question, k=ans.ANSWER_DEPTH)
            vector = service.embed(query)
            found = service.retrieve(query, vector)
            for row in rows_for(question, found.passages, vector, found.sentence_vectors, golds):
                out.append(row | {"question": n, "article": article, "kind": kind})
    return out


def xquad_rows(xquad: Path) -> list[dict]:
    """Ask every xquad-articles dev question with its article present, and left out."""
    out = []
    for n, c in enumerate(retrieve(xquad / "articles.jsonl", xquad / "questions.jsonl")):
        q = c.question
        for row in rows_for(q.question, c.present, c.vector, c.present_vectors, q.answers):
            out.append(row | {"question": 100_000 + n, "article": q.article_id, "kind": "answerable"})
        for row in rows_for(q.question, c.left_out, c.vector, c.left_out_vectors, ()):
            out.append(row | {"question": 200_000 + n, "article": q.article_id, "kind": "left out"})
    return out


def collect(squad: Path, xquad: Path) -> list[dict]:
    """Return every dev row of both data sets."""
    embedder = MemoEmbedder(SentenceTransformerEmbedder(load_settings().embedding))
    return squad_rows(embedder, squad) + xquad_rows(xquad)
