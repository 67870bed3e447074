"""Questions the articles only seem to answer (SQuAD 2.0 style): does citebot abstain on them?"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.service import CitebotService


@dataclass(frozen=True)
class UnanswerableQuestion:
    """A question written to look answerable, with the tempting wrong spans."""

    id: str
    question: str
    article_id: str
    plausible_answers: tuple[str, ...]
    split: str


@dataclass(frozen=True)
class UnanswerableResult:
    """What the service did with one unanswerable question."""

    question: UnanswerableQuestion
    abstained: bool
    answer: str
    plausible: bool  # answered, and the answer contains a plausible (wrong) span
    latency_ms: float
    confidence: float | None = None


def load_unanswerable(path: Path, split: str = "all") -> list[UnanswerableQuestion]:
    """Read an unanswerable.jsonl file ({id, question, article_id, plausible_answers, split})."""
    from cli.evalfiles import field_of, read_rows

    return read_rows(
        path,
        lambda r: UnanswerableQuestion(
            field_of(r, "id", str),
            field_of(r, "question", str),
            field_of(r, "article_id", str),
            tuple(field_of(r, "plausible_answers", list, True) or ()),
            field_of(r, "split", str),
        ),
        split,
    )


def ask_unanswerable(service: CitebotService, q: UnanswerableQuestion) -> UnanswerableResult:
    """Ask one unanswerable question the way users do."""
    from cli.evaluation import answer_contains

    t0 = time.perf_counter()
    shown = service.ask(q.question)
    latency = (time.perf_counter() - t0) * 1000
    plausible = not shown.abstained and answer_contains(shown.answer, q.plausible_answers)
    return UnanswerableResult(q, shown.abstained, shown.answer, plausible, latency, shown.confidence)


def summarise_unanswerable(results: Sequence[UnanswerableResult]) -> dict[str, Any]:
    """Return the `abstention.unanswerable` block of `citebot eval --json`."""
    n = len(results)
    return {
        "questions": n,
        "abstained": round(sum(r.abstained for r in results) / n, 4) if n else None,
        "answered_with_plausible_span": round(sum(r.plausible for r in results) / n, 4) if n else None,
    }
