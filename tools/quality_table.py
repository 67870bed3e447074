"""Run `citebot eval` for the shipped answerer and the baselines, on dev and test, in one go.

Usage: .venv/bin/python -m tools.quality_table --articles PATH --questions PATH [--splits dev,test]
       .venv/bin/python -m tools.quality_table --squad2 DIR [--splits dev,test]

Prints a Markdown table (the one in docs/quality.md and the README) and the withhold-8 rows.
With --squad2 DIR it prints the squad2-dev table instead: answerable and unanswerable questions.
Every row is a separate `citebot eval` process on the same corpus, chunking and model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CITEBOT = [sys.executable, "-m", "cli"]

# Floors small enough that every answer passes the abstention gate, lexical-only gate included.
NO_GATE = {
    "CITEBOT_ANSWER__MIN_DENSE_SCORE": "0.001",
    "CITEBOT_ANSWER__MIN_OVERLAP": "0.001",
    "CITEBOT_ANSWER__MIN_COVERAGE": "0.001",
    "CITEBOT_ANSWER__MIN_SENTENCE_COSINE": "0.001",
    "CITEBOT_ANSWER__ANSWERABILITY": "false",
}
RRF = {"CITEBOT_SEARCH__FUSION": "rrf", "CITEBOT_SEARCH__BM25_WEIGHT": "1.0"}
# name, extra arguments, environment overrides
SYSTEMS: list[tuple[str, list[str], dict[str, str]]] = [
    ("**citebot (shipped)**", [], {}),
    ("citebot, no abstention gate", [], NO_GATE),
    ("citebot, one sentence only", [], {"CITEBOT_ANSWER__SECOND_SENTENCE_RATIO": "0"}),
    ("BM25 only, no gate", ["--retrieval", "bm25"], NO_GATE),
    ("dense only, no gate", ["--retrieval", "dense"], NO_GATE),
    ("hybrid RRF (k=60, weights 1/1), no gate", [], {**RRF, **NO_GATE}),
]
SQUAD2_SYSTEMS: list[tuple[str, list[str], dict[str, str]]] = [
    ("**citebot (shipped)**", [], {}),
    ("citebot without the answerability check", [], {"CITEBOT_ANSWER__ANSWERABILITY": "false"}),
    ("BM25 only, no gate", ["--retrieval", "bm25"], NO_GATE),
    ("dense only, no gate", ["--retrieval", "dense"], NO_GATE),
    ("hybrid RRF (k=60, weights 1/1), no gate", [], {**RRF, **NO_GATE}),
]


def evaluate(articles: Path, questions: Path, split: str, args: list[str], env: dict[str, str]) -> dict:
    command = [*CITEBOT, "eval", "--articles", str(articles), "--questions", str(questions)]
    out = subprocess.run(  # noqa: S603 - our own CLI, arguments built here
        [*command, "--split", split, "--json", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def squad2_table(squad: Path, splits: list[str]) -> None:
    """Print the squad2-dev table: answerable questions, and how often unanswerable ones abstain."""
    print(
        "| system | split | hit@1 | answer acc. | answered | unanswerable abstained | plausible span | p50 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    extra = ["--unanswerable", str(squad / "unanswerable.jsonl")]
    for split in splits:
        for name, args, env in SQUAD2_SYSTEMS:
            r = evaluate(squad / "articles.jsonl", squad / "questions.jsonl", split, [*args, *extra], env)
            u = r["abstention"]["unanswerable"]
            cells = [r["hit@1"], r["answer_accuracy"], r["abstention"]["answered_on_kept"]]
            cells += [u["abstained"], u["answered_with_plausible_span"]]
            row = " | ".join(f"{v:.3f}" for v in cells)
            print(f"| {name} | {split} | {row} | {r['latency_ms']['p50']:.1f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Print the quality table: every system on every split, then the withhold-8 rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, help="xquad-articles articles.jsonl")
    parser.add_argument("--questions", type=Path, help="xquad-articles questions.jsonl")
    parser.add_argument("--squad2", type=Path, help="the squad2-dev directory: print its table instead")
    parser.add_argument("--splits", default="dev,test")
    args = parser.parse_args(argv)
    if args.squad2:
        squad2_table(args.squad2, args.splits.split(","))
        return 0
    if not (args.articles and args.questions):
        parser.error("--articles and --questions are needed (or --squad2)")
    print("| system | split | hit@1 | hit@3 | hit@5 | MRR@10 | answer acc. | answered | p50 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for split in args.splits.split(","):
        for name, extra, env in SYSTEMS:
            r = evaluate(args.articles, args.questions, split, extra, env)
            cells = [r["hit@1"], r["hit@3"], r["hit@5"], r["mrr@10"], r["answer_accuracy"]]
            cells.append(r["abstention"]["answered_on_kept"])
            row = " | ".join(f"{v:.3f}" for v in cells)
            print(f"| {name} | {split} | {row} | {r['latency_ms']['p50']:.1f} |", flush=True)
    print("\n| withhold 8 (final) | split | abstained on withheld | answered on kept | answer acc. (kept) |")
    print("|---|---|---|---|---|")
    for split in args.splits.split(","):
        r = evaluate(args.articles, args.questions, split, ["--withhold", "8"], {})
        a = r["abstention"]
        print(
            f"| final | {split} | {a['abstained_on_withheld']:.3f} ({a['withheld_questions']} q) "
            f"| {a['answered_on_kept']:.3f} | {r['answer_accuracy']:.3f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
