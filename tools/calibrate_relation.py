"""Calibrate the LLM verifier's relation check (retrieval/relation.py) on squad2-dev dev only.

Usage: .venv/bin/python -m tools.calibrate_relation --squad2 DIR [--pairs N]

There is no set of LLM claims with gold support labels, so this uses the closest real proxy:
a dev question read with the article sentence that answers it (supported: the question's
relation is stated there, in other words) against an unanswerable dev question read with the
sentence that holds its tempting wrong span (a changed relation, negation or swapped role).
For each pair it takes the weakest alignment among the question's content words that the
sentence does not contain, and prints, per threshold, the share of supported pairs kept and
of trap pairs dropped. RELATION_THRESHOLD keeps at least 95 % of the supported pairs, so
the check drops only claims whose words the passage plainly does not state.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from cli import evaluation as ev
from cli.unanswerable import load_unanswerable
from config.loader import load_settings
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.relation import word_alignments
from retrieval.text import sentence_spans


def sentence_at(text: str, at: int) -> str:
    """Return the sentence of text that contains character `at`."""
    return next((text[s:e] for s, e in sentence_spans(text) if s <= at < e), "")


def main(argv: list[str] | None = None) -> int:
    """Print, per threshold, the supported pairs kept and the trap pairs dropped (dev only)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad2", type=Path, required=True, help="the squad2-dev directory")
    parser.add_argument("--pairs", type=int, default=300, help="pairs of each kind (seeded sample)")
    args = parser.parse_args(argv)
    squad = args.squad2
    texts = {a.id: a.text for a in ev.load_articles(squad / "articles.jsonl")}
    rng = random.Random(13)
    good = [
        (q.question, sentence_at(texts[q.article_id], q.answer_start))
        for q in ev.load_questions(squad / "questions.jsonl", "dev")
    ]
    traps = []
    for u in load_unanswerable(squad / "unanswerable.jsonl", "dev"):
        at = texts[u.article_id].find(u.plausible_answers[0]) if u.plausible_answers else -1
        if at >= 0:
            traps.append((u.question, sentence_at(texts[u.article_id], at)))
    embedder = SentenceTransformerEmbedder(load_settings().embedding)
    weakest = {}
    for kind, pairs in (("supported", good), ("trap", traps)):
        sample = rng.sample(pairs, min(args.pairs, len(pairs)))
        weakest[kind] = [
            min((b for _, b in word_alignments(q, s, embedder)), default=1.0) for q, s in sample if s
        ]
    print("threshold  supported_kept  traps_dropped")
    for t in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
        kept = sum(w >= t for w in weakest["supported"]) / len(weakest["supported"])
        dropped = sum(w < t for w in weakest["trap"]) / len(weakest["trap"])
        print(f"{t:9.2f}  {kept:14.3f}  {dropped:13.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
