"""The typed stages of one ask: a prepared query, its retrieval, and a stopwatch for both."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from retrieval.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

    from retrieval.models import Passage
    from retrieval.search import KnowledgeBase


class Stopwatch:
    """Time the stages of one ask: each `lap` adds to its stage; `timings` adds the total."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._laps: dict[str, float] = {}

    @contextmanager
    def lap(self, stage: str) -> Iterator[None]:
        """Add the time the block takes to the stage's milliseconds."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._laps[stage] = self._laps.get(stage, 0.0) + (time.perf_counter() - t0) * 1000

    def timings(self) -> dict[str, float]:
        """Return each stage's milliseconds and the total since the stopwatch started."""
        return {**self._laps, "total": (time.perf_counter() - self._start) * 1000}


@dataclass(frozen=True)
class Query:
    """A validated question on its way through the stages."""

    question: str  # cleaned; what the answer must answer
    text: str  # what is searched: the question, led by the earlier one for follow-ups
    k: int
    kb: KnowledgeBase
    context: str | None = None  # the question before, for a follow-up
    clock: Stopwatch = field(default_factory=Stopwatch, compare=False)


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found for a query: passages, best first, with the vectors answering needs."""

    query: Query
    vector: np.ndarray | None  # the query's embedding (None in BM25-only mode)
    passages: list[Passage]
    sentence_vectors: dict[str, np.ndarray]  # chunk id -> one row per sentence
    articles_searched: int


_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters: a question of only these is empty


def clean_question(question: str, limit: int) -> str:
    """Return a question with its whitespace tidied, or raise InvalidInput if empty or over limit."""
    clean = " ".join(question.split())
    if not clean.strip(_INVISIBLE + " "):
        raise InvalidInput("the question is empty")
    try:
        clean.encode("utf-8")
    except UnicodeEncodeError as exc:  # undecodable bytes from a terminal, kept as surrogates
        raise InvalidInput(
            f"the question is not valid UTF-8 text (a stray byte at character {exc.start + 1})"
        ) from exc
    clean = unicodedata.normalize("NFC", clean)  # "é" typed as e + U+0301 is one character
    if len(clean) > limit:
        raise InvalidInput(f"the question is {len(clean)} characters long; the limit is {limit}")
    return clean
