"""Small frozen results that the core returns to its interfaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class SourceDocument:
    """A text ready to be ingested, with what is known about where it came from."""

    text: str
    title: str
    source: str
    url: str | None = None
    author: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class ArticleInfo:
    """An article stored in a knowledge base (without its full text)."""

    id: str
    title: str
    source: str
    url: str | None
    author: str | None
    date: str | None
    added_by: str | None
    added_at: str
    content_hash: str
    chunks: int
    chars: int


@dataclass(frozen=True)
class AddResult:
    """What happened to one source given to `add` or `refresh`."""

    article: ArticleInfo
    status: Literal["added", "already present", "updated", "unchanged"]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its scores."""

    chunk_id: str
    article_id: str
    title: str
    url: str | None
    text: str
    start: int
    end: int
    score: float
    dense: float | None = None
    bm25: float | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered, verbatim passage supporting an answer."""

    n: int
    article_id: str
    title: str
    url: str | None
    passage: str
    start: int
    end: int
    score: float
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Answer:
    """An answer with its citations, or an abstention."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    articles_searched: int = 0
    answered_by: str = "extractive"
    confidence: float | None = None  # probability that the answer answers (the answerability check)
    label: Literal["sure", "unsure"] | None = None  # from confidence and answer.sure_confidence

    def to_json(self) -> dict[str, object]:
        """Return the CLI's JSON shape of this answer."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [
                {
                    "n": c.n,
                    "article_id": c.article_id,
                    "title": c.title,
                    "url": c.url,
                    "passage": c.passage,
                    "start": c.start,
                    "end": c.end,
                    "score": round(c.score, 6),
                }
                for c in self.citations
            ],
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "label": self.label,
        }
