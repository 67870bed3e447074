"""Unit tests of extract_answer with hand-built passages (no model)."""

from __future__ import annotations

from retrieval.answer import NOT_FOUND, extract_answer, supported
from retrieval.models import Passage

TRAIN = (
    "The journey covers roughly 1,180 kilometers. Because of the weight of its armor plating, "
    "the train travels at about 60 km/h (37 mph). South Korean officials have said the carriages are heavy."
)
FOOD = "Live lobsters were delivered to the train. French wines were flown in from Paris."


def passage(
    text: str, start: int = 0, dense: float | None = 0.6, score: float = 1.0, aid: str = "a"
) -> Passage:
    return Passage(f"{aid}:{start}", aid, "Title", None, text, start, start + len(text), score, dense, 5.0)


def test_answers_with_the_sentence_stating_the_speed() -> None:
    got = extract_answer("How fast is the train?", [passage(TRAIN), passage(FOOD, 500, 0.3, 0.5)], k=3)
    assert not got.abstained
    assert "60 km/h" in got.answer
    assert got.answer.endswith("[1]")


def test_cites_the_answer_passage_as_one_and_keeps_every_passage() -> None:
    got = extract_answer("Where were the wines flown in from?", [passage(TRAIN), passage(FOOD, 500)], k=3)
    assert "Paris" in got.answer
    assert [c.n for c in got.citations] == [1, 2]
    assert got.citations[0].start == 500


def test_citation_highlights_are_offsets_in_the_passage() -> None:
    got = extract_answer("How fast is the train?", [passage(TRAIN, 100)], k=3)
    (s, e), *_ = got.citations[0].highlights
    assert got.citations[0].passage[s:e] in got.answer


def test_abstains_when_nothing_overlaps() -> None:
    got = extract_answer("Who painted the Mona Lisa?", [passage(TRAIN, dense=0.1)], k=3)
    assert got.abstained
    assert got.answer == NOT_FOUND
    assert got.citations == ()


def test_abstains_without_passages() -> None:
    assert extract_answer("How fast is the train?", [], k=3).abstained


def test_answer_does_not_depend_on_k_beyond_the_answer_depth() -> None:
    ps = [passage(TRAIN), passage(FOOD, 500), passage("Other text about trains.", 900), passage(FOOD, 1500)]
    q = "Where were the wines flown in from?"
    assert extract_answer(q, ps, k=3).answer == extract_answer(q, ps, k=4).answer


def test_at_most_two_sentences() -> None:
    text = "Kim rode the train. He rode it for about 60 hours to Hanoi. It was slow. It was long."
    got = extract_answer("How many hours did Kim ride to Hanoi?", [passage(text)], k=3)
    assert got.answer.count("[1]") <= 2
    assert len(got.citations[0].highlights) <= 2


def test_pronoun_sentence_brings_its_predecessor() -> None:
    text = "Kim Jong Il used armored trains. He was said to be afraid of flying. Lobsters were served."
    got = extract_answer("Who was afraid of flying?", [passage(text)], k=3, max_sentences=2)
    assert got.answer.startswith("Kim Jong Il used armored trains. [1] He was said")


def test_support_trades_cosine_against_term_coverage() -> None:
    assert supported([passage("x", dense=0.6)], 0.0, 0.6, 1.0)
    assert not supported([passage("x", dense=0.3)], 0.4, 0.6, 1.0)
    assert supported([passage("x", dense=0.3)], 0.6, 0.6, 1.0)


def test_support_without_dense_scores_uses_coverage_alone() -> None:
    assert supported([passage("x", dense=None)], 0.3, 0.6, 1.0)
    assert not supported([passage("x", dense=None)], 0.1, 0.6, 1.0)
