"""Tests of the evaluation metrics and an end-to-end `citebot eval` on a tiny corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.evaluation import (
    answer_contains,
    choose_withheld,
    covers,
    first_covering_rank,
    hit_at,
    mrr_at,
    normalize_answer,
    percentile,
)
from cli.main import main
from retrieval.models import Citation
from retrieval.verify import strip_markers

# The benchmark data lies in shared/, beside the repository (as in CI's checkout).
XQUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "xquad-articles"


def cite(n: int, start: int, end: int, aid: str = "a") -> Citation:
    return Citation(n, aid, "T", None, "x" * (end - start), start, end, 1.0)


def test_normalize_answer_drops_case_punctuation_articles_and_spaces() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"


def test_strip_markers_removes_citation_numbers() -> None:
    assert strip_markers("It runs at 60 km/h. [1] It is slow. [12]") == "It runs at 60 km/h. It is slow."


def test_answer_contains_matches_whole_tokens_after_normalisation() -> None:
    assert answer_contains("The train travels at about 60 km/h. [1]", ["60 km/h"])
    assert answer_contains("Won by the Denver Broncos. [2]", ["Denver Broncos", "Broncos"])
    assert not answer_contains("In 1946 and 1947. [1]", ["194"])
    assert not answer_contains("Paris [1]", [""])


def test_covers_needs_the_gold_article_and_the_whole_span() -> None:
    assert covers(cite(1, 100, 200), "a", 120, 130)
    assert covers(cite(1, 100, 200), "a", 100, 200)
    assert not covers(cite(1, 100, 200), "a", 190, 210)
    assert not covers(cite(1, 100, 200, aid="b"), "a", 120, 130)


def test_first_covering_rank_follows_citation_numbers() -> None:
    citations = [cite(2, 0, 50), cite(1, 500, 600), cite(3, 100, 200)]
    assert first_covering_rank(citations, "a", 120, 130) == 3
    assert first_covering_rank(citations, "a", 10, 20) == 2
    assert first_covering_rank(citations, "a", 900, 910) is None


def test_hit_and_mrr_on_hand_made_ranks() -> None:
    ranks = [1, 2, None, 11]
    assert hit_at(ranks, 1) == 0.25
    assert hit_at(ranks, 3) == 0.5
    assert mrr_at(ranks, 10) == pytest.approx((1 + 0.5) / 4)
    assert hit_at([], 1) == 0.0


def test_percentile_interpolates() -> None:
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([5], 95) == 5


def test_withheld_choice_is_fixed_by_the_seed() -> None:
    ids = [f"a{i}" for i in range(20)]
    assert choose_withheld(ids, 4) == choose_withheld(list(reversed(ids)), 4)
    assert len(choose_withheld(ids, 4)) == 4


@pytest.mark.model
def test_eval_command_prints_metrics_for_a_tiny_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    articles = XQUAD.joinpath("articles.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    ids = {json.loads(line)["id"] for line in articles}
    questions = [
        line
        for line in XQUAD.joinpath("questions.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["article_id"] in ids and json.loads(line)["split"] == "dev"
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(articles) + "\n", encoding="utf-8")
    (tmp_path / "q.jsonl").write_text("\n".join(questions) + "\n", encoding="utf-8")
    args = ["eval", "--articles", str(tmp_path / "a.jsonl"), "--questions", str(tmp_path / "q.jsonl")]
    assert main([*args, "--split", "dev", "--withhold", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"questions", "hit@1", "hit@3", "hit@5", "mrr@10", "answer_accuracy", "abstention"}
    assert report["questions"] + report["abstention"]["withheld_questions"] == len(questions)
    assert 0 <= report["hit@1"] <= report["hit@3"] <= report["hit@5"] <= 1
    assert report["hit@1"] <= report["mrr@10"] <= 1
    assert 0 <= report["answer_accuracy"] <= 1
    assert 0 <= report["abstention"]["abstained_on_withheld"] <= 1
    assert 0 <= report["abstention"]["answered_on_kept"] <= 1
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p95"]


SQUAD2 = XQUAD.parent / "squad2-dev"


def test_eval_asks_unanswerable_questions_and_reports_their_abstention(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The answerability check is off by default; with it on, answers carry the confidences calibrated here.
    monkeypatch.setenv("CITEBOT_ANSWER__ANSWERABILITY", "true")
    article = SQUAD2.joinpath("articles.jsonl").read_text(encoding="utf-8").splitlines()[0]
    aid = json.loads(article)["id"]

    def first(name: str, n: int) -> list[str]:
        lines = SQUAD2.joinpath(name).read_text(encoding="utf-8").splitlines()
        return [line for line in lines if json.loads(line)["article_id"] == aid][:n]

    (tmp_path / "a.jsonl").write_text(article + "\n", encoding="utf-8")
    (tmp_path / "q.jsonl").write_text("\n".join(first("questions.jsonl", 4)) + "\n", encoding="utf-8")
    (tmp_path / "u.jsonl").write_text("\n".join(first("unanswerable.jsonl", 6)) + "\n", encoding="utf-8")
    args = ["eval", "--articles", str(tmp_path / "a.jsonl"), "--questions", str(tmp_path / "q.jsonl")]
    assert main([*args, "--unanswerable", str(tmp_path / "u.jsonl"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    unanswerable = report["abstention"]["unanswerable"]
    assert unanswerable["questions"] == 6
    assert 0 <= unanswerable["answered_with_plausible_span"] <= 1 - unanswerable["abstained"]
    assert {"withheld_questions", "abstained_on_withheld", "answered_on_kept"} <= set(report["abstention"])
    calibration = report["calibration"]
    assert calibration["answers"] == sum(b["answers"] for b in calibration["bins"])
    assert 0 <= calibration["ece"] <= 1


def test_reliability_bins_confidences_and_weighs_the_calibration_error() -> None:
    from cli.calibration import reliability

    table = reliability([(0.95, True), (0.91, True), (0.15, False), (0.12, True)])
    assert [(b["low"], b["answers"], b["accuracy"]) for b in table["bins"]] == [(0.1, 2, 0.5), (0.9, 2, 1.0)]
    # |1.0 - 0.93| and |0.5 - 0.135|, each for half of the answers
    assert table["ece"] == pytest.approx(0.5 * 0.07 + 0.5 * 0.365, abs=1e-4)


GOOD_QUESTION = {
    "id": "q",
    "question": "When do owls hunt?",
    "answers": ["night"],
    "article_id": "a",
    "answer_start": 14,
    "split": "dev",
}


@pytest.mark.parametrize(
    ("flag", "content", "problem"),
    [
        ("--unanswerable", '{"id": "x", "question": "Who?"}', "record 1 lacks 'article_id'"),
        ("--questions", '{"question": "Who?"}', "record 1 lacks 'id'"),
        (
            "--questions",
            '{"id": "q", "question": "Who?", "answers": 7, "article_id": "a", '
            '"answer_start": 0, "split": "dev"}',
            "record 1 has a bad value",
        ),
        ("--questions", "[1, 2]", "record 1 is not a JSON object"),
        *(
            ("--questions", json.dumps(GOOD_QUESTION | bad), f"record 1 has a bad value ('{key}' must be")
            for bad in ({"answers": []}, {"answers": "300 km/h"}, {"answer_start": "20"}, {"question": 5})
            for key in bad
        ),
        (
            "--unanswerable",
            json.dumps(GOOD_QUESTION | {"plausible_answers": [3]}),
            "record 1 has a bad value ('plausible_answers' must be",
        ),
        ("--questions", "", "no questions"),
        ("--articles", '{"id": "a", "text": "t"}', "record 1 lacks 'title'"),
    ],
)
def test_a_bad_eval_file_is_refused_in_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, content: str, problem: str
) -> None:
    good = {
        "--articles": '{"id": "a", "title": "A", "text": "Owls hunt at night."}',
        "--questions": json.dumps(GOOD_QUESTION),
    }
    paths = {}
    for name, line in {**good, flag: content}.items():
        paths[name] = tmp_path / f"{name.strip('-')}.jsonl"
        paths[name].write_text(line + "\n", encoding="utf-8")
    argv = ["eval"] + [arg for name, path in paths.items() for arg in (name, str(path))]
    assert main(argv) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"citebot: error: {paths[flag]}: {problem}")
