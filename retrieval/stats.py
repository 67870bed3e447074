"""A server's activity over the last days: questions per day, how they were answered, votes, citations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.records import AnswerRecord, FeedbackRecord, Records

TOP_ARTICLES = 8


@dataclass(frozen=True)
class Stats:
    """Per-day series (oldest day first) and totals for one server."""

    days: tuple[date, ...]
    answered: tuple[int, ...]  # answers citebot was sure of (or that had no label)
    unsure: tuple[int, ...]  # answers marked "not sure"
    abstained: tuple[int, ...]  # "not found"
    up: tuple[int, ...]  # 👍 given that day
    down: tuple[int, ...]  # 👎 given that day
    cited: tuple[tuple[str, int], ...]  # (article title, answers citing it), most cited first
    reasons: tuple[tuple[str, int], ...] = ()  # 👎 reasons given, most given first

    @property
    def questions(self) -> tuple[int, ...]:
        """Return the questions asked per day."""
        return tuple(a + u + n for a, u, n in zip(self.answered, self.unsure, self.abstained, strict=True))

    def totals(self) -> dict[str, int]:
        """Return the totals over the period."""
        return {
            "questions": sum(self.questions),
            "answered": sum(self.answered),
            "unsure": sum(self.unsure),
            "abstained": sum(self.abstained),
            "up": sum(self.up),
            "down": sum(self.down),
        }

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form: the series by day and the totals."""
        return {
            "days": [d.isoformat() for d in self.days],
            "answered": list(self.answered),
            "unsure": list(self.unsure),
            "abstained": list(self.abstained),
            "up": list(self.up),
            "down": list(self.down),
            "cited": [{"title": t, "answers": n} for t, n in self.cited],
            "reasons": dict(self.reasons),
            "totals": self.totals(),
        }


def from_json(data: dict[str, Any]) -> Stats:
    """Rebuild stats from their JSON form (as Stats.to_json gives it)."""
    series = {k: tuple(int(v) for v in data[k]) for k in ("answered", "unsure", "abstained", "up", "down")}
    return Stats(
        days=tuple(date.fromisoformat(d) for d in data["days"]),
        cited=tuple((str(c["title"]), int(c["answers"])) for c in data["cited"]),
        reasons=tuple((str(k), int(v)) for k, v in data.get("reasons", {}).items()),
        **series,
    )


def _day(at: str) -> date:
    when = datetime.fromisoformat(at)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).date()


def compute(
    answers: Sequence[tuple[str, AnswerRecord]],
    votes: Sequence[FeedbackRecord],
    days: int,
    today: date,
) -> Stats:
    """Count a server's answers and votes per day over the `days` days ending today (UTC)."""
    span = tuple(today - timedelta(days=days - 1 - i) for i in range(days))
    kinds: dict[str, Counter[date]] = {k: Counter() for k in ("answered", "unsure", "abstained")}
    cited: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for _, record in answers:
        kind = "abstained" if record.abstained else "unsure" if record.label == "unsure" else "answered"
        kinds[kind][_day(record.at)] += 1
        for source in record.sources:
            titles.setdefault(str(source.get("article_id")), str(source.get("title") or "Untitled"))
        for article_id in dict.fromkeys(record.cited):  # an answer counts once per article
            cited[article_id] += 1
    votes_by: dict[str, Counter[date]] = {"up": Counter(), "down": Counter()}
    reasons: Counter[str] = Counter()
    for vote in votes:
        votes_by["up" if vote.vote == "up" else "down"][_day(vote.at)] += 1
        if vote.vote == "down" and vote.reason:
            reasons[vote.reason] += 1
    top = cited.most_common(TOP_ARTICLES)
    return Stats(
        days=span,
        answered=tuple(kinds["answered"][d] for d in span),
        unsure=tuple(kinds["unsure"][d] for d in span),
        abstained=tuple(kinds["abstained"][d] for d in span),
        up=tuple(votes_by["up"][d] for d in span),
        down=tuple(votes_by["down"][d] for d in span),
        cited=tuple((titles.get(a, a), n) for a, n in top),
        reasons=tuple(reasons.most_common()),
    )


def server_stats(records: Records, guild_id: int, days: int = 30, now: datetime | None = None) -> Stats:
    """Return a server's stats for the `days` days ending today (UTC)."""
    now = now or datetime.now(UTC)
    today = now.astimezone(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    return compute(
        records.answers_since(guild_id, since), records.feedback_since(guild_id, since), days, today
    )
