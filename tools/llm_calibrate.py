"""Calibrate the verifier's cosine threshold on xquad-articles (supported vs unsupported claim/passage pairs)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

from config.loader import load_settings
from retrieval.chunking import chunk_text
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.text import sentence_spans
from retrieval.verify import windows

root = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/eval/xquad-articles")
split = sys.argv[2] if len(sys.argv) > 2 else "dev"
arts = {a["id"]: a for a in map(json.loads, (root / "articles.jsonl").read_text().splitlines())}
qs = [q for q in map(json.loads, (root / "questions.jsonl").read_text().splitlines()) if q["split"] == split]
emb = SentenceTransformerEmbedder(load_settings().embedding)
emb.load()
rng = random.Random(0)
chunks = [(aid, c) for aid, a in arts.items() for c in chunk_text(a["text"], 600, 100)]
# Embed every window of every chunk once; a claim's support by a chunk = best window cosine.
owner, texts = [], []
for i, (_, c) in enumerate(chunks):
    for s, e in windows(c.text):
        owner.append(i)
        texts.append(c.text[s:e])
W = emb.encode(texts)
owner = np.array(owner)
claims, gold_idx, hard_idx, easy_idx, kinds = [], [], [], [], []
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
        claims.append(claim)
        kinds.append(kind)
        gold_idx.append(g)
        hard_idx.append(hard)
        easy_idx.append(easy)
C = emb.encode(claims)
S = C @ W.T


def best(row, i):
    return float(row[owner == i].max())


res = {k: ([], [], []) for k in ("verbatim", "qa", "clause")}
for r, kind in enumerate(kinds):
    pos, hn, en = res[kind]
    pos.append(best(S[r], gold_idx[r]))
    hn += [best(S[r], i) for i in hard_idx[r]]
    en += [best(S[r], i) for i in easy_idx[r]]
print(f"{split}: {len(qs)} questions, {len(chunks)} chunks")
for kind, lists in res.items():
    pos, hn, en = map(np.array, lists)
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
