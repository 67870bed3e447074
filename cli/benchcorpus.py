"""The bench's corpora: real article text, varied so chunks are distinct; synthetic vectors."""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from cli.evaluation import load_questions
from retrieval.embedding import Embedder

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings
    from retrieval.models import SourceDocument

ROOT = Path(__file__).resolve().parent.parent
SEED_QUESTIONS = ["How fast is Kim's train?", "Why does Kim Jong Un travel by train?"]


def load_sources(articles: Path | None, settings: Settings) -> list[tuple[str, str]]:
    """Return (title, text) of the seed articles and of every article in articles.jsonl."""
    from retrieval.adding import load_seeds

    sources = [(doc.title, doc.text) for doc in load_seeds(settings)]
    if articles is not None:
        with articles.open(encoding="utf-8") as fh:
            sources += [(row["title"], row["text"]) for row in map(json.loads, fh) if row.get("text")]
    return sources


def timed_questions(articles: Path | None, count: int) -> list[str]:
    """Return count questions, cycling: the dev ones next to articles.jsonl, else the seed ones."""
    path = articles.with_name("questions.jsonl") if articles else None
    found = [q.question for q in load_questions(path, "dev")] if path and path.is_file() else []
    found = found or SEED_QUESTIONS
    return [found[i % len(found)] for i in range(count)]


def make_corpus(
    sources: list[tuple[str, str]], chunks: int, settings: Settings
) -> list[tuple[SourceDocument, int]]:
    """Return (document, chunk count) pairs totalling at least `chunks` (seeded, deterministic)."""
    from retrieval.chunking import chunk_text
    from retrieval.models import SourceDocument
    from retrieval.text import sentence_spans

    pools = [(title, [text[s:e] for s, e in sentence_spans(text)]) for title, text in sources]
    docs: list[tuple[SourceDocument, int]] = []
    total = 0
    while total < chunks:
        i = len(docs)
        title, sentences = pools[i % len(pools)]
        if i < len(pools):  # the real articles first, unchanged, so the questions have answers
            text = " ".join(sentences)
        else:  # then shuffles of an article with a few sentences of another swapped in
            rng = random.Random(f"citebot-bench:{i}")
            picked = list(sentences)
            rng.shuffle(picked)
            other = pools[rng.randrange(len(pools))][1]
            for _ in range(max(1, len(picked) // 8)):
                picked[rng.randrange(len(picked))] = rng.choice(other)
            text = " ".join(picked)
        n = len(chunk_text(text, settings.chunk.size, settings.chunk.overlap))
        docs.append((SourceDocument(text=text, title=f"{title} ({i})", source="bench"), n))
        total += n
    return docs


class SyntheticEmbedder(Embedder):
    """Stand-in for the model past the embed limit: a real vector plus seeded noise, renormalised."""

    def __init__(self, bank: np.ndarray, name: str, noise: float = 0.3) -> None:
        self._bank = bank
        self.name = name
        self.dimension = int(bank.shape[1])
        self._sigma = noise / self.dimension**0.5  # the noise vector's norm is about `noise`

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return one perturbed real vector per text, chosen and perturbed by the text's hash."""
        import numpy as np

        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = zlib.crc32(text.encode("utf-8"))
            vec = self._bank[seed % len(self._bank)] + np.random.default_rng(seed).normal(
                0.0, self._sigma, self.dimension
            )
            out[row] = vec / np.linalg.norm(vec)
        return out
