"""Question terms held in another form: demonyms, acronyms, measured values (no model)."""

from __future__ import annotations

import pytest

from retrieval.answer import extract_answer, features
from retrieval.matching import QuestionPhrasing, QuestionTerms, refers_back
from retrieval.models import Passage
from retrieval.text import stems, terms

ALL: set[str] = set()  # every term of the question (a dotted acronym's term is the stemmer's own)


@pytest.mark.parametrize(
    ("question", "sentence", "held"),
    [
        # a name and its demonym, both ways
        (
            "What pulled the train in Russia?",
            "The convoy was pulled by a Russian locomotive.",
            {"pull", "russia"},
        ),
        ("Where do Koreans live?", "Most live in Korea.", {"korean", "live"}),
        # an acronym and the name it abbreviates, both ways, dotted or not
        ("What does the US say?", "According to the United States, it was sold.", {"us"}),
        ("What did the U.S. warn?", "The US warned them.", ALL),
        ("What did the United States warn?", "The U.S. warned them.", {"unit", "state", "warn"}),
        ("Who founded the SNP?", "The Scottish National Party was founded in 1934.", {"snp", "found"}),
        # the measure a question asks for, held by a value in its own unit
        ("How fast is the train?", "The convoy travels at about 60 km/h.", {"fast"}),
        ("How long does the trip take?", "It takes 20 hours.", {"long", "take"}),
        ("How far is the cosmodrome?", "It lies 1,000 km away.", {"far"}),
        ("What colour is the train?", "It is painted green and gold.", {"colour"}),
        ("What is Kim's position on the war?", "Kim has strongly supported the war.", ALL),
    ],
)
def test_a_sentence_holds_question_terms_in_other_forms(question: str, sentence: str, held: set[str]) -> None:
    matcher = QuestionTerms(question)
    assert matcher.found(sentence, terms(sentence)) == (matcher.terms if held is ALL else held)


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("How fast is the train?", "The train has 12 carriages."),  # "fast" is not held by a count
        ("How long does the trip take?", "The trip is 1,200 km."),  # nor "long" by a distance
        ("What does the US say?", "Officials from Ukraine spoke."),  # no name with those initials
        ("What did Germany say?", "A German official spoke."),  # only names in -a take an -n demonym here
        ("what did they plan?", "Plan ahead."),  # a capitalised first word is no demonym
    ],
)
def test_other_forms_need_the_right_form(question: str, sentence: str) -> None:
    matcher = QuestionTerms(question)
    assert matcher.found(sentence, terms(sentence)) == matcher.terms & set(terms(sentence))


def passage(text: str) -> Passage:
    return Passage("a:0", "a", "Title", None, text, 0, len(text), 1.0, 0.6, 5.0)


def test_a_sentence_naming_the_asked_country_by_its_demonym_is_the_answer() -> None:
    text = "Trains from Russia rarely reach the coast. Images show the convoy pulled by a Russian locomotive."
    got = extract_answer(
        "What pulled the train once it was in Russia?", [passage(text)], k=1, max_sentences=1
    )
    assert "Russian locomotive" in got.answer


@pytest.mark.parametrize(
    ("question", "sentence", "pairs", "in_order"),
    [
        # "cross the border" kept, inflected: 2 of the 4 pairs, 4 of the 6 words in order
        ("Where did the train cross the border?", "The convoy crossed the border on Tuesday.", 0.5, 4 / 6),
        # "in exchange for", small words around one term: 2 of 5 pairs
        ("What would they get in exchange for the weapons?", "Food came in exchange for shells.", 0.4, 3 / 8),
        # the question's words in order around the answer: "supplied [rockets] to Russia"
        ("What has he supplied to Russia?", "He has supplied rockets to Russia.", 1 / 3, 4 / 5),
        # the same terms, not the phrasing
        ("What has he supplied to Russia?", "Russia has a supply problem.", 0.0, 2 / 5),
    ],
)
def test_a_sentence_keeps_the_question_phrasing(
    question: str, sentence: str, pairs: float, in_order: float
) -> None:
    phrasing = QuestionPhrasing(question)
    assert phrasing.pairs(stems(sentence)) == pytest.approx(pairs)
    assert phrasing.in_order(stems(sentence)) == pytest.approx(in_order)


def test_the_question_word_is_not_one_of_the_words_to_keep_in_order() -> None:
    phrasing = QuestionPhrasing("Why does Kim travel by train?")
    assert phrasing.in_order(stems("Kim travels by train because he fears flying.")) == pytest.approx(4 / 5)


def test_a_pair_kept_by_fewer_sentences_counts_more() -> None:
    phrasing = QuestionPhrasing("What would they get in exchange for the weapons?")
    said = [
        stems(s)
        for s in ("Food came in exchange for shells.", "They sold the weapons.", "He kept the weapons.")
    ]
    plain, distinct = phrasing.shares(said)
    # 5 pairs: "they get", "get in", "in exchange", "exchange for", "the weapons"
    assert plain == pytest.approx([2 / 5, 1 / 5, 1 / 5])
    assert distinct == pytest.approx([2 / 5, 1 / 10, 1 / 10])  # "the weapons" is kept by two sentences


def test_the_ranker_sees_a_pair_kept_by_one_sentence_as_distinct() -> None:
    text = "Food came in exchange for shells. They sold the weapons. He kept the weapons."
    got = features("What would they get in exchange for the weapons?", [passage(text)])
    assert [f.values["phrase"] for f in got] == pytest.approx([2 / 5, 1 / 5, 1 / 5])
    assert [f.values["distinct"] for f in got] == pytest.approx([2 / 5, 1 / 10, 1 / 10])


@pytest.mark.parametrize(
    ("sentence", "back"),
    [
        ("He left Pyongyang on Sunday.", True),
        ("Their ties date back to 1948.", True),
        ("The convoy crossed the border this Tuesday.", True),
        ("These talks will be held in Vladivostok.", True),
        ("Ria Novosti confirmed that The convoy crossed the border.", True),  # a reported "that"
        ("Kim left Pyongyang on Sunday.", False),
        ("A train left the station.", False),
        ("Theatres closed in March.", False),
        ("Moscow said that Kim would come.", False),
    ],
)
def test_a_sentence_whose_subject_points_back(sentence: str, back: bool) -> None:
    assert refers_back(sentence) is back


def test_a_definite_subject_borrows_the_question_terms_of_the_sentence_before_it_across_a_chunk_edge() -> (
    None
):
    before = "Kim left on Sunday in his private train."
    convoy = "The convoy crossed the border at Primorye."
    # the same sentence elsewhere, with nothing before it that names the train
    other = "The convoy crossed the border at Khasan."
    passages = [
        Passage("a:0", "a", "Title", None, before, 0, len(before), 1.0, 0.6, 5.0),
        Passage(
            "a:1", "a", "Title", None, convoy, len(before) + 1, len(before) + 1 + len(convoy), 1.0, 0.6, 5.0
        ),
        Passage("b:0", "b", "Other", None, other, 0, len(other), 1.0, 0.6, 5.0),
    ]
    got = extract_answer("Where did the train cross the border?", passages, k=3, max_sentences=1)
    assert "Primorye" in got.answer


def test_demonyms_are_whole_capitalised_words() -> None:
    """The fast demonym pattern finds what "\\b([A-Z][a-z]+a)ns?\\b" finds: whole words only."""
    import re

    import retrieval.matching as matching

    plain = re.compile(r"\b([A-Z][a-z]+a)ns?\b")
    text = (
        "Russian XRussian _Koreans 1Indian Russians. (Syrian) Kenyan's Americans-Canadians Ruandans é Zambian"
    )
    for sample in (text, *text.split(), "Russian", "Rn", "Ran", "Asians"):
        assert [m.group(1) for m in matching._DEMONYM.finditer(sample)] == plain.findall(sample)
    assert matching._demonyms(text) == {"russia", "syria", "kenya", "america", "canadia", "ruanda", "zambia"}
