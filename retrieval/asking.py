"""The typed stages of one ask: a prepared query, its retrieval, and a stopwatch for both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
