"""Unit tests of extract_answer with hand-built passages (no model)."""

from __future__ import annotations

import numpy as np

from retrieval.answer import NOT_FOUND, Gate, extract_answer, rank_sentences, sentence_cosines
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


def test_gate_adds_up_the_four_kinds_of_evidence() -> None:
    gate = Gate(min_dense=1.2, min_overlap=3.0, min_coverage=2.0, min_sentence_cosine=1.0)
    assert gate.supports([passage("x", dense=1.2)], 0.0, 0.0, 0.0)  # the best cosine alone
    assert gate.supports([passage("x", dense=0.0)], 0.0, 0.0, 1.0)  # the sentence's cosine alone
    assert gate.supports([passage("x", dense=0.3)], 0.6, 0.6, 0.3)  # 0.25 + 0.2 + 0.3 + 0.3 >= 1
    assert not gate.supports([passage("x", dense=0.3)], 0.3, 0.3, 0.3)  # 0.25 + 0.1 + 0.15 + 0.3 < 1
    assert gate.supports([passage("x", dense=0.0), passage("y", dense=0.6)], 0.0, 1.0, 0.5)  # best cosine


def test_gate_without_dense_scores_uses_the_lexical_terms_at_a_quarter() -> None:
    gate = Gate(min_dense=1.2, min_overlap=3.0, min_coverage=2.0, min_sentence_cosine=1.0)
    assert gate.supports([passage("x", dense=None)], 0.3, 0.3, 0.0)  # 0.1 + 0.15 >= 0.25
    assert not gate.supports([passage("x", dense=None)], 0.3, 0.2, 0.9)  # 0.1 + 0.1 < 0.25


def test_sentence_vectors_steer_the_answer_and_missing_ones_fall_back_on_the_passage() -> None:
    text = "The bridge is long. The bridge is old."
    p = passage(text, dense=0.5)
    q = np.array([1.0, 0.0], dtype=np.float32)
    second = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)  # the second sentence matches
    first = second[::-1].copy()
    assert "old" in rank_sentences("bridge?", [p], q, {p.chunk_id: second})[0].text
    assert "long" in rank_sentences("bridge?", [p], q, {p.chunk_id: first})[0].text
    # no vectors, a count that does not match the sentences, or a zero row: the passage's cosine
    assert sentence_cosines(p, [(0, 19), (20, 38)], q, None) == [0.5, 0.5]
    assert sentence_cosines(p, [(0, 19), (20, 38)], q, second[:1]) == [0.5, 0.5]
    assert sentence_cosines(p, [(0, 19), (20, 38)], q, np.array([[0.0, 0.0], [1.0, 0.0]])) == [0.5, 1.0]


CLOSE = "The bridge opened in 1932 after years of work. The bridge was repaired in 1990 after the flood."


def test_runner_up_sentence_is_shown_when_the_ranker_is_unsure() -> None:
    q = "When did the bridge open after work?"
    ranked = rank_sentences(q, [passage(CLOSE)])
    ratio = 2.718281828 ** (ranked[1].score - ranked[0].score)  # runner-up's share of the top's probability
    shown = extract_answer(q, [passage(CLOSE)], k=3, second_ratio=ratio * 0.99)
    assert shown.answer.count("[1]") == 2
    assert len(shown.citations[0].highlights) == 2
    alone = extract_answer(q, [passage(CLOSE)], k=3, second_ratio=min(1.0, ratio * 1.01))
    assert alone.answer.count("[1]") == 1
    assert extract_answer(q, [passage(CLOSE)], k=3, second_ratio=0.0).answer == alone.answer
    assert extract_answer(q, [passage(CLOSE)], k=3, max_sentences=1, second_ratio=1e-9).answer == alone.answer


def test_a_sentence_two_overlapping_chunks_share_is_not_shown_twice() -> None:
    q = "When did the bridge open after work?"
    shared = CLOSE[:47]
    ps = [passage(CLOSE, 0), passage(shared + " Tolls were lifted in 2001.", 0, score=0.9, aid="a")]
    got = extract_answer(q, ps, k=3, second_ratio=1e-9)
    assert got.answer.count("opened in 1932") == 1
    assert got.answer.count("[") == 2  # the runner-up is another sentence


def test_two_sentences_from_two_passages_cite_the_answer_passage_first() -> None:
    q = "When did the bridge open after work?"
    ps = [passage(CLOSE[:47], 0), passage(CLOSE[48:], 900)]
    got = extract_answer(q, ps, k=3, second_ratio=1e-9)
    first = rank_sentences(q, ps)[0]
    assert got.citations[0].start == ps[first.passage].start
    assert got.answer.index("[1]") < got.answer.index("[2]")
