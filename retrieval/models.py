"""Small frozen results that the core returns to its interfaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

VANISHED_FLAG = 2  # a page gone at this many fetches in a row is flagged, never deleted


@dataclass(frozen=True)
class SourceDocument:
    """A text ready to be ingested, with what is known about where it came from."""

    text: str
    title: str
    source: str
    url: str | None = None
    author: str | None = None
    date: str | None = None
    # From the fetch of a URL: when, and the validators a conditional re-fetch sends back.
    fetched_at: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # What names a document without a URL across edits: a local file's URI. Added again from
    # there with other text, it is the same article, updated (pasted text has none: its text names it).
    key: str | None = None


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
    # Freshness of URL articles (None for others, and for articles stored before it was kept).
    fetched_at: str | None = None  # the last successful fetch (ISO 8601, UTC)
    changed_at: str | None = None  # when its text last changed (added or updated)
    etag: str | None = None
    last_modified: str | None = None
    vanished: int = 0  # fetches in a row that found it gone (HTTP 404 or 410)

    def freshness(self) -> dict[str, str | int | None]:
        """Return the freshness fields as stored with the article (None: not known)."""
        return {
            "fetched_at": self.fetched_at,
            "changed_at": self.changed_at,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "vanished": self.vanished,
        }

    @property
    def flagged(self) -> bool:
        """Tell whether the page has vanished at two fetches in a row (editors should look)."""
        return self.vanished >= VANISHED_FLAG


@dataclass(frozen=True)
class AddResult:
    """What happened to one source given to `add` or `refresh`."""

    article: ArticleInfo
    status: Literal["added", "already present", "updated", "unchanged"]


@dataclass(frozen=True)
class FetchOutcome:
    """One re-fetch of a URL article: its changed text, or its freshness to save, or why it failed."""

    article: ArticleInfo  # as stored before the fetch
    doc: SourceDocument | None = None  # the new text, when it changed
    fresh: ArticleInfo | None = None  # the article with its new freshness, when its text did not change
    error: str | None = None  # why the fetch failed (the old version is kept)
    gone: bool = False  # the server answered 404 or 410

    @property
    def changed(self) -> bool:
        """Tell whether the page's text changed."""
        return self.doc is not None


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
    fetched_at: str | None = None  # when a URL article was last fetched (None: not from a URL)


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
