"""The ranker refit (tools/calibrate_answers) and the session-8 reader experiment's pieces (no model)."""

from __future__ import annotations

import numpy as np

from cli.evaluation import EvalQuestion
from retrieval import answer as ans
from retrieval.models import Passage
from tools import calibrate_answers as cal
from tools.reader_ranker import candidates, session6_folds, shipped_scores, with_reader

TEXT = (
    "The Arrival. The train left the capital on Sunday. It travels at about 60 km/h. "
    "The convoy crossed the border at Khasan on Tuesday."
)


def _passage(text: str, start: int = 0, aid: str = "a") -> Passage:
    return Passage(f"{aid}:{start}", aid, "Title", None, text, start, start + len(text), 1.0, 0.5, 5.0)


def _case(question: str, answer: str, article: str, text: str) -> cal.Case:
    q = EvalQuestion(question, question, (answer,), article, text.find(answer), "dev")
    return cal.Case(q, np.zeros(3), [_passage(text, aid=article)], {}, [], {})


def test_the_ranker_rows_leave_headings_out_and_the_refit_runs() -> None:
    sets = {
        "toy": [
            _case("How fast does the train travel?", "60 km/h", "a", TEXT),
            _case("Where did the convoy cross the border?", "Khasan", "b", TEXT),
            _case("When did the train leave the capital?", "Sunday", "c", TEXT),
        ]
    }
    rows = cal.ranker_rows(sets)
    assert len(rows) == 3
    assert all("The Arrival." not in [f.text for f in feats] for *_, feats, _ in rows)
    cal.fit_ranker(sets, folds=3)  # printed; it used to stop on a helper that had moved


def test_cross_validation_finds_a_feature_that_marks_the_gold_sentence() -> None:
    rng = np.random.default_rng(0)
    data = []
    for n in range(40):
        y = np.zeros(5, dtype=bool)
        y[n % 5] = True
        x = np.column_stack([rng.normal(size=5), y.astype(float)])  # noise, then the gold flag
        data.append((f"s{n % 2}/art{n % 10}", x, y))
    hits, weights = cal.cross_validate(data, folds=5)
    assert hits == {"s0": 20, "s1": 20}
    assert weights[1] > abs(weights[0])


def _features(texts: list[tuple[int, int, str]], heading: int = -1) -> list[ans.SentenceFeatures]:
    return [
        ans.SentenceFeatures(p, start, start + len(t), t, {}, heading=i == heading)
        for i, (p, start, t) in enumerate(texts)
    ]


def test_candidates_are_distinct_in_score_order_with_the_sentence_before_them() -> None:
    feats = _features(
        [(0, 0, "A heading"), (0, 10, "First."), (0, 20, "Second."), (1, 20, "Second."), (1, 40, "Third.")],
        heading=0,
    )
    scores = np.array([9.0, 1.0, 5.0, 4.0, 3.0])
    found = candidates(feats, scores, top=3)
    assert [c.text for c in found] == ["A heading", "Second.", "Third."]
    assert [c.before for c in found] == ["", "First.", "Second."]  # a heading is never the context
    assert [c.index for c in found] == [0, 2, 4]
    assert len(candidates(feats, scores, top=10)) == 4  # the repeated sentence counts once


def test_the_reader_columns_mark_the_sentences_read_and_their_logits() -> None:
    feats = _features([(0, 0, "One."), (0, 10, "Two."), (1, 0, "Two."), (1, 10, "Three.")])
    found = candidates(feats, np.array([3.0, 2.0, 2.5, 1.0]), top=2)
    x = with_reader(np.ones((4, 2)), found, np.array([-1.5, 0.5]), [f.text for f in feats])
    assert x.shape == (4, 4)
    assert x[:, 2].tolist() == [1.0, 1.0, 1.0, 0.0]  # both copies of "Two." were read
    assert x[:, 3].tolist() == [-1.5, 0.5, 0.5, 0.0]


def test_session6_folds_alternate_squad2_articles_and_are_deterministic() -> None:
    articles = ["sq2d-a01", "sq2d-a00", "sq2d-a03", "sq2d-a02", "x1", "x2", "x3", "x4"]
    fold = session6_folds(articles)
    assert [fold[f"sq2d-a0{i}"] for i in range(4)] == [0, 1, 0, 1]
    assert fold == session6_folds(list(reversed(articles)))
    assert sorted(fold[a] for a in ("x1", "x2", "x3", "x4")) == [0, 0, 1, 1]


def test_shipped_scores_use_the_shipped_weights_and_ignore_added_columns() -> None:
    x = np.zeros((2, len(ans.FEATURES) + 2))
    x[0, ans.FEATURES.index("overlap")] = 1.0
    x[1, -1] = 100.0
    assert shipped_scores(x).tolist() == [ans.WEIGHTS["overlap"], 0.0]
