"""The questions a server's articles did not answer, similar ones grouped: what editors should add.

A question counts as a gap when citebot found nothing (an abstention), was not sure, got a 👎,
or someone called a helper under its answer. Questions are grouped greedily by the cosine of
their embeddings: each joins the group it is most similar to on average (mean cosine to the
group's questions), if that is at least GROUP_THRESHOLD, else starts its own (threshold and how it was chosen: docs/gaps.md, `tools/gap_threshold.py`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from retrieval.records import AnswerRecord, FeedbackRecord, Records

# Chosen on tests/data/gap_paraphrases.jsonl with tools/gap_threshold.py (docs/gaps.md).
GROUP_THRESHOLD = 0.60
PERIODS = (7, 30, 90)
MAX_ASKS = 5000  # the most recent ones are grouped: embedding more would hold the CPU for long
# Why a question is a gap, in the order they are listed.
WHY = {"not_found": "not found", "unsure": "not sure", "thumbs_down": "👎", "handed_off": "helper called"}
REASONS = {
    "wrong": "wrong answer",
    "outdated": "outdated",
    "not_covered": "not covered",
    "other": "other",
}


@dataclass(frozen=True)
class GapAsk:
    """One ask the articles did not answer: its question, when, and why it counts."""

    answer_id: str
    question: str
    at: str
    why: frozenset[str]
    reasons: tuple[str, ...] = ()  # 👎 reasons given (REASONS keys)
    notes: tuple[str, ...] = ()  # words given with a 👎


@dataclass(frozen=True)
class Gap:
    """Similar unanswered questions, grouped: how often, when last, one example."""

    example: str  # the most recent wording
    count: int  # asks
    last_asked: str
    why: dict[str, int]  # asks per WHY key
    reasons: dict[str, int]  # 👎 reasons per REASONS key
    questions: tuple[str, ...]  # every distinct wording, most recent first
    notes: tuple[str, ...] = field(default=())

    def why_text(self) -> str:
        """Say why these went unanswered: "3 not found, 1 👎 (1 outdated)"."""
        text = ", ".join(f"{n} {WHY[k]}" for k, n in self.why.items())
        if self.reasons:
            text += " (" + ", ".join(f"{n} {REASONS[k]}" for k, n in self.reasons.items()) + ")"
        return text

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form (as `citebot gaps --json` prints it)."""
        return {
            "count": self.count,
            "last_asked": self.last_asked,
            "example": self.example,
            "why": self.why,
            "reasons": self.reasons,
            "questions": list(self.questions),
            "notes": list(self.notes),
        }


def collect(answers: Sequence[tuple[str, AnswerRecord]], votes: Sequence[FeedbackRecord]) -> list[GapAsk]:
    """Return the asks that count as gaps: abstained, not sure, 👎 or handed to a helper."""
    found: dict[str, dict[str, Any]] = {}

    def entry(answer_id: str, question: str, at: str) -> dict[str, Any]:
        return found.setdefault(
            answer_id, {"question": question, "at": at, "why": set(), "reasons": [], "notes": []}
        )

    for answer_id, record in answers:
        why = {
            "not_found": record.abstained,
            "unsure": record.label == "unsure" and not record.abstained,
            "handed_off": record.handed_off_at is not None,
        }
        if any(why.values()):
            entry(answer_id, record.question, record.at)["why"].update(k for k, v in why.items() if v)
    shown = dict(answers)
    for vote in votes:
        if vote.vote != "down":
            continue
        asked = shown.get(vote.answer_id)
        item = entry(vote.answer_id, vote.question, asked.at if asked else vote.at)
        item["why"].add("thumbs_down")
        if vote.reason:
            item["reasons"].append(vote.reason)
        if vote.reason_text and vote.reason_text.strip():
            item["notes"].append(" ".join(vote.reason_text.split()))
    return [
        GapAsk(aid, e["question"], e["at"], frozenset(e["why"]), tuple(e["reasons"]), tuple(e["notes"]))
        for aid, e in found.items()
    ]


def group(
    asks: Sequence[GapAsk],
    encode: Callable[[list[str]], np.ndarray],
    threshold: float = GROUP_THRESHOLD,
) -> list[Gap]:
    """Group similar questions (greedy, by mean cosine to each group's questions); most asked first."""
    import numpy as np

    if not asks:
        return []
    texts = sorted({_norm(a.question) for a in asks})
    vectors = dict(zip(texts, centred(encode(texts)), strict=True))
    ordered = sorted(asks, key=lambda a: a.at, reverse=True)  # the newest wording leads its group
    members: list[list[GapAsk]] = []
    sums: list[np.ndarray] = []
    for ask in ordered:
        vector = vectors[_norm(ask.question)]
        scores = [float(vector @ total) / len(members[i]) for i, total in enumerate(sums)]
        best = int(np.argmax(scores)) if scores else -1
        if best < 0 or scores[best] < threshold:
            members.append([ask])
            sums.append(vector.astype(np.float64))
        else:
            members[best].append(ask)
            sums[best] = sums[best] + vector
    gaps = sorted((_gap(m) for m in members), key=lambda g: g.last_asked, reverse=True)
    return sorted(gaps, key=lambda g: g.count, reverse=True)  # stable: among equals, latest first


def centred(vectors: np.ndarray, shrink: int = 10) -> np.ndarray:
    """Remove most of what all the questions share, then renormalise.

    A server's questions share its topic: "When did Kim arrive?" and "Who did Kim meet?" are
    close in the raw embedding because both are about Kim. Subtracting the mean (shrunk by
    n / (n + shrink), so two or three questions are barely moved) leaves what each one asks.
    """
    import numpy as np

    n = len(vectors)
    shifted = vectors - (n / (n + shrink)) * vectors.mean(axis=0)
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.asarray(shifted / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def _gap(asks: list[GapAsk]) -> Gap:
    why: Counter[str] = Counter(w for a in asks for w in a.why)
    reasons: Counter[str] = Counter(r for a in asks for r in a.reasons)
    wordings = list(dict.fromkeys(" ".join(a.question.split()) for a in asks))
    return Gap(
        example=wordings[0],
        count=len(asks),
        last_asked=max(a.at for a in asks),
        why={k: why[k] for k in WHY if why[k]},
        reasons={k: reasons[k] for k in REASONS if reasons[k]},
        questions=tuple(wordings),
        notes=tuple(dict.fromkeys(n for a in asks for n in a.notes)),
    )


def _norm(question: str) -> str:
    return " ".join(question.split()).lower()


def recent_asks(records: Records, guild_id: int, days: int, now: datetime | None = None) -> list[GapAsk]:
    """Return a server's unanswered asks of the last `days` days (the latest MAX_ASKS of them)."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    asks = collect(records.answers_since(guild_id, since), records.feedback_since(guild_id, since))
    return sorted(asks, key=lambda a: a.at)[-MAX_ASKS:]


def find_gaps(
    records: Records,
    encode: Callable[[list[str]], np.ndarray],
    guild_id: int,
    days: int,
    now: datetime | None = None,
) -> list[Gap]:
    """Return a server's gaps of the last `days` days, most asked first."""
    return group(recent_asks(records, guild_id, days, now), encode)


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Keep spreadsheet programs from running a question as a formula."""
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(gaps: Sequence[Gap]) -> str:
    """Return the gaps as CSV: one row per group, every wording in the last column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["count", "last_asked", "example", *WHY, "reasons", "notes", "questions"])
    for g in gaps:
        reasons = "; ".join(f"{REASONS[k]} {n}" for k, n in g.reasons.items())
        counts = [g.why.get(k, 0) for k in WHY]
        notes, wordings = _cell(" | ".join(g.notes)), _cell(" | ".join(g.questions))
        writer.writerow([g.count, g.last_asked, _cell(g.example), *counts, reasons, notes, wordings])
    return out.getvalue()
