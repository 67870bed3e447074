"""Make the example gaps listing and stats chart in docs/ from a month of realistic questions.

Usage: HF_HUB_OFFLINE=1 .venv/bin/python -m tools.upkeep_example [--out docs/stats-example.png]

A test server whose knowledge is the seed article (Kim Jong Un's train journey) is asked, over
30 days, the seed question set (tests/data/seed_questions.jsonl: 53 answerable, 5 not) and
questions its article does not cover (COMMUNITY, several asked more than once, in other words).
Every question really goes through the service (`CitebotService.ask`) and is recorded as the bot
records it (an AnswerRecord); only its time is set, spread over the month, because a test cannot
wait 30 days. Votes follow the truth: an answer holding one of the question's expected answers
gets a 👍 from some askers, one that does not gets a 👎 ("wrong answer") from most. Then the
same code as `/citebot gaps` and `/citebot stats` prints the listing and draws the chart.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.records import Records
    from retrieval.service import CitebotService

ROOT = Path(__file__).resolve().parent.parent
GUILD = 400000000000000015
# Asked on the server but not in its article: (question, times asked), paraphrases next to each other.
COMMUNITY = [
    ("When is the next reading session?", 4),
    ("what time does the reading club meet", 3),
    ("How do I get the reader role?", 3),
    ("how can I get a role in this server", 2),
    ("What did Kim and Putin agree on?", 4),
    ("what was the outcome of the Putin Kim summit", 2),
    ("How many carriages does Kim's train have?", 3),
    ("how long is the armored train", 1),
    ("Did Kim fly back to Pyongyang?", 2),
    ("Is there an article about the Moscow summit?", 1),
    ("Can I suggest an article to add?", 2),
    ("how do I add my own article", 1),
]


def questions() -> list[tuple[str, list[str]]]:
    """Return every ask of the month: the seed set once each, the community questions as often as asked."""
    seed = [json.loads(line) for line in (ROOT / "tests/data/seed_questions.jsonl").read_text().splitlines()]
    asks = [(q["question"], list(q["answers"])) for q in seed if q["question"]]
    return asks + [(q, []) for q, times in COMMUNITY for _ in range(times)]


def month_of_questions(service: CitebotService, records: Records, now: datetime) -> None:
    """Ask every question of the month and record it, with votes that follow the expected answers."""
    from retrieval.records import AnswerRecord, FeedbackRecord

    rng = random.Random(15)
    for n, (question, expected) in enumerate(questions()):
        asked = now - timedelta(days=rng.uniform(0, 29.9))
        answer = service.ask(question, f"g{GUILD}")
        answer_id, user = f"{n:012x}", 1000 + rng.randrange(25)
        records.answers.put(
            answer_id,
            AnswerRecord.of(answer, GUILD, user, None, at=asked.isoformat()),
        )
        if answer.abstained:
            continue
        right = any(e.lower() in answer.answer.lower() for e in expected)
        vote = ("up" if rng.random() < 0.4 else None) if right else ("down" if rng.random() < 0.7 else None)
        if vote:
            records.feedback.put(
                f"{answer_id}:{user}",
                FeedbackRecord(
                    answer_id=answer_id,
                    vote=vote,
                    user_id=user,
                    guild_id=GUILD,
                    question=answer.question,
                    answer=answer.answer,
                    cited=(),
                    at=(asked + timedelta(minutes=2)).isoformat(),
                    reason=None if vote == "up" else ("wrong" if expected else "not_covered"),
                ),
            )


def main(argv: list[str] | None = None) -> int:
    """Ask a month of questions in a scratch store, then print the gaps and draw the chart."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "stats-example.png")
    args = parser.parse_args(argv)

    from bot.upkeep import gaps_page
    from cli.upkeep import gap_line, stats_lines
    from config.loader import load_settings
    from retrieval.chart import render_png
    from retrieval.compose import build_service
    from retrieval.gaps import find_gaps
    from retrieval.records import Records
    from retrieval.stats import server_stats

    now = datetime.now(UTC).replace(microsecond=0)
    with (
        tempfile.TemporaryDirectory(prefix="citebot-example-") as tmp,
        build_service(load_settings(data_dir=Path(tmp))) as service,
    ):
        service.seed(f"g{GUILD}")
        records = Records(service.store)
        month_of_questions(service, records, now)
        gaps = find_gaps(records, service.embedder.encode, GUILD, 30, now)
        stats = server_stats(records, GUILD, 30, now)
    print(f"last 30 days: {sum(g.count for g in gaps)} unanswered questions in {len(gaps)} groups")
    for gap in gaps:
        print(gap_line(gap))
    print("\n".join(stats_lines(stats)))
    page = gaps_page(gaps, 0, 30)
    print(f"\n/citebot gaps, first page:\n## {page.title}\n{page.description}\n-# {page.footer.text}")
    args.out.write_bytes(render_png(stats, "Test server"))
    print(f"chart: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
