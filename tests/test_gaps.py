"""Gaps: which asks count, how similar questions are grouped, and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding import Embedder
from retrieval.gaps import GROUP_THRESHOLD, GapAsk, centred, collect, group, to_csv
from retrieval.records import AnswerRecord, FeedbackRecord
from tests.fakes import HashEmbedder

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def shown(question: str, hours: int, **fields: object) -> AnswerRecord:
    base: dict[str, object] = {
        "guild_id": 1,
        "user_id": 2,
        "question": question,
        "context": None,
        "answer": "an answer [1]",
        "abstained": False,
        "cited": ("a1",),
        "shown": 1,
        "at": (T0 + timedelta(hours=hours)).isoformat(),
        "label": "sure",
    }
    return AnswerRecord(**(base | fields))  # type: ignore[arg-type]


def down(answer_id: str, question: str, reason: str | None = None, text: str | None = None) -> FeedbackRecord:
    return FeedbackRecord(
        answer_id=answer_id,
        vote="down",
        user_id=3,
        guild_id=1,
        question=question,
        answer="x",
        cited=(),
        reason=reason,
        reason_text=text,
    )


def test_collect_keeps_abstentions_unsure_thumbs_down_and_hand_offs_only() -> None:
    answers = [
        ("sure", shown("What is the server IP?", 0)),
        ("none", shown("How do I get the artist role?", 1, abstained=True, label=None, cited=())),
        ("unsure", shown("When is the next tournament?", 2, label="unsure")),
        ("voted", shown("How much does premium cost?", 3)),
        ("helper", shown("Can I appeal a ban?", 4, handed_off_at=T0.isoformat())),
    ]
    votes = [down("voted", "How much does premium cost?", "outdated"), down("gone", "Is there a dark mode?")]
    asks = {a.answer_id: a for a in collect(answers, votes)}
    assert set(asks) == {"none", "unsure", "voted", "helper", "gone"}
    assert asks["none"].why == {"not_found"}
    assert asks["unsure"].why == {"unsure"}
    assert asks["voted"].why == {"thumbs_down"} and asks["voted"].reasons == ("outdated",)
    assert asks["voted"].at == answers[3][1].at  # when it was asked, not when it was voted on
    assert asks["helper"].why == {"handed_off"}
    assert asks["gone"].question == "Is there a dark mode?"  # a vote whose answer is no longer kept


def test_one_ask_counts_once_whatever_happened_to_it() -> None:
    answers = [("a", shown("When is the next tournament?", 0, label="unsure", handed_off_at=T0.isoformat()))]
    votes = [
        down("a", "When is the next tournament?", "wrong"),
        down("a", "x", "other", "  the date  moved "),
    ]
    [ask] = collect(answers, votes)
    assert ask.why == {"unsure", "handed_off", "thumbs_down"}
    assert ask.reasons == ("wrong", "other") and ask.notes == ("the date moved",)


def ask(question: str, hours: int, why: str = "not_found") -> GapAsk:
    return GapAsk(
        question + str(hours), question, (T0 + timedelta(hours=hours)).isoformat(), frozenset({why})
    )


def test_group_counts_similar_asks_sorted_by_count_with_the_latest_wording() -> None:
    asks = [
        ask("how do I reset my password", 0),
        ask("reset my password how", 5),
        ask("password reset how do I", 3),
        ask("where is the tournament schedule", 1),
        ask("tournament schedule where", 2, "unsure"),
        ask("what colour is the logo", 4),
    ]
    gaps = group(asks, HashEmbedder().encode, threshold=0.5)
    assert [g.count for g in gaps] == [3, 2, 1]
    assert gaps[0].example == "reset my password how"  # asked last
    assert gaps[0].last_asked == asks[1].at
    assert gaps[1].why == {"not_found": 1, "unsure": 1}
    assert set(gaps[1].questions) == {"where is the tournament schedule", "tournament schedule where"}


def test_the_same_question_asked_twice_is_one_group() -> None:
    gaps = group([ask("Is there a dark mode?", 0), ask("is there a  DARK mode?", 1)], HashEmbedder().encode)
    assert [g.count for g in gaps] == [2]


def test_centring_removes_the_shared_topic_but_barely_moves_a_few_questions() -> None:
    rng = np.random.default_rng(0)
    topic = rng.normal(size=16)
    many = np.stack([topic + 0.3 * rng.normal(size=16) for _ in range(40)])
    many /= np.linalg.norm(many, axis=1, keepdims=True)
    raw, shifted = many @ many.T, centred(many) @ centred(many).T
    assert raw[np.triu_indices(40, 1)].mean() > 0.8
    assert shifted[np.triu_indices(40, 1)].mean() < 0.4  # most of the shared topic is gone
    two = many[:2]
    assert np.allclose(centred(two)[0] @ centred(two)[1], two[0] @ two[1], atol=0.25)


def test_csv_has_one_row_per_group_and_defuses_formulas() -> None:
    asks = [ask("=HYPERLINK(1)", 0), ask("how do I reset my password", 1)]
    rows = list(csv.reader(io.StringIO(to_csv(group(asks, HashEmbedder().encode)))))
    assert rows[0][:3] == ["count", "last_asked", "example"]
    assert len(rows) == 3
    assert {r[2] for r in rows[1:]} == {"'=HYPERLINK(1)", "how do I reset my password"}


@pytest.mark.model
def test_real_model_groups_paraphrases_and_keeps_near_misses_apart(real_embedder: Embedder) -> None:
    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "gap_paraphrases.jsonl").open()]
    asks = [ask(r["question"], i) for i, r in enumerate(rows)]
    truth = {r["question"]: r["group"] for r in rows}
    gaps = group(asks, real_embedder.encode, GROUP_THRESHOLD)
    for g in gaps:  # never two different needs in one line (precision 1.0 on this set; docs/gaps.md)
        assert len({truth[q] for q in g.questions}) == 1, g.questions
    assert sum(g.count > 1 for g in gaps) >= 12  # and most needs do get grouped
