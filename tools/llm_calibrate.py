"""Calibrate the verifier's cosine threshold on xquad-articles (supported vs unsupported claim/passage pairs).

Usage: .venv/bin/python -m tools.llm_calibrate --data DIR [--split dev]  (DIR holds articles.jsonl and
questions.jsonl; never calibrate on the test split)
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from config.loader import load_settings
from retrieval.chunking import chunk_text
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.text import sentence_spans
from retrieval.verify import windows

Chunk = tuple[str, Any]  # (article id, retrieval.chunking.Chunk)


def window_vectors(emb: SentenceTransformerEmbedder, chunks: list[Chunk]) -> tuple[np.ndarray, np.ndarray]:
    """Embed every window of every chunk once; return (vectors, owning chunk index per row)."""
    owner, texts = [], []
    for i, (_, c) in enumerate(chunks):
        for s, e in windows(c.text):
            owner.append(i)
            texts.append(c.text[s:e])
    return emb.encode(texts), np.array(owner)


def build_claims(
    arts: dict[str, dict[str, Any]], qs: list[dict[str, Any]], chunks: list[Chunk]
) -> list[tuple[str, str, int, list[int], list[int]]]:
    """Return (kind, claim, gold chunk, same-article other chunks, other-article chunks) per claim."""
    rng = random.Random(0)
    out = []
    for q in qs:
        aid = q["article_id"]
        text = arts[aid]["text"]
        a0 = q["answer_start"]
        ans = q["answers"][0]
        s, e = next((s, e) for s, e in sentence_spans(text) if s <= a0 < e)
        mine = [i for i, (x, c) in enumerate(chunks) if x == aid]
        g = next((i for i in mine if chunks[i][1].start <= s and e <= chunks[i][1].end), None)
        if g is None:  # a sentence longer than a chunk: the chunk holding the answer, sentence clipped to it
            g = next(i for i in mine if chunks[i][1].start <= a0 < chunks[i][1].end)
            s, e = max(s, chunks[g][1].start), min(e, chunks[g][1].end)
        hard = [i for i in mine if chunks[i][1].end <= s or chunks[i][1].start >= e]
        easy = rng.sample([i for i, (x, _) in enumerate(chunks) if x != aid], 3)
        before = text[s:a0].split()[-6:]
        after = text[a0 + len(ans) : e].split()[:6]
        for kind, claim in (
            ("verbatim", text[s:e]),
            ("qa", f"{q['question'].rstrip(' ?')}: {ans}."),
            ("clause", " ".join([*before, ans, *after])),
        ):
            out.append((kind, claim, g, hard, easy))
    return out


def report(
    scores: np.ndarray, owner: np.ndarray, claims: list[tuple[str, str, int, list[int], list[int]]]
) -> None:
    """Print, per kind of claim, how a grid of thresholds separates supported from unsupported pairs."""

    def best(row: np.ndarray, i: int) -> float:
        return float(row[owner == i].max())

    res: dict[str, tuple[list[float], list[float], list[float]]] = {
        k: ([], [], []) for k in ("verbatim", "qa", "clause")
    }
    for r, (kind, _, gold, hard, easy) in enumerate(claims):
        pos, hn, en = res[kind]
        pos.append(best(scores[r], gold))
        hn += [best(scores[r], i) for i in hard]
        en += [best(scores[r], i) for i in easy]
    for kind, lists in res.items():
        pos, hn, en = (np.array(x) for x in lists)
        print(
            f"\n{kind}: supported n={len(pos)} median {np.median(pos):.3f} p5 {np.percentile(pos, 5):.3f}; "
            f"same-article other passages n={len(hn)} median {np.median(hn):.3f} p95 {np.percentile(hn, 95):.3f}; "
            f"other-article p95 {np.percentile(en, 95):.3f}"
        )
        print(" thr   supported-kept  same-article-accepted  other-article-accepted")
        for t in np.arange(0.30, 0.81, 0.05):
            print(
                f" {t:.2f}  {np.mean(pos >= t):.3f}           {np.mean(hn >= t):.3f}                  {np.mean(en >= t):.3f}"
            )


def main(argv: list[str] | None = None) -> int:
    """Embed claims and passage windows of one split and print the threshold trade-offs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="directory with articles.jsonl and questions.jsonl"
    )
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    args = parser.parse_args(argv)
    settings = load_settings()
    lines = (args.data / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    arts = {a["id"]: a for a in map(json.loads, lines)}
    lines = (args.data / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    qs = [q for q in map(json.loads, lines) if q["split"] == args.split]
    emb = SentenceTransformerEmbedder(settings.embedding)
    emb.load()
    c = settings.chunk
    chunks = [(aid, ch) for aid, a in arts.items() for ch in chunk_text(a["text"], c.size, c.overlap)]
    vectors, owner = window_vectors(emb, chunks)
    claims = build_claims(arts, qs, chunks)
    scores = emb.encode([claim for _, claim, *_ in claims]) @ vectors.T
    print(f"{args.split}: {len(qs)} questions, {len(chunks)} chunks")
    report(scores, owner, claims)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
