"""What the answer step reads once per passage text (retrieval/chunkfacts.py) and its cache."""

from __future__ import annotations

import random

import pytest

from retrieval.answer import extract_answer, features
from retrieval.answertype import TYPES
from retrieval.chunkfacts import CACHED_CHARACTERS, forget_passage_facts, held_characters, passage_facts
from retrieval.matching import QuestionTerms, TextFacts, longest_common, refers_back, word_masks
from retrieval.models import Passage
from retrieval.text import is_heading, sentence_spans, stems, terms

TEXT = (
    "The Rukban camp\n\nDr. Kim met U.S. officials in Vladivostok. The convoy crossed the border at "
    "about 60 km/h. It carried 1,200 tonnes of grain for the Russian army. He left on 3 May 2023."
)


def passage(text: str, chunk_id: str = "a:0") -> Passage:
    return Passage(chunk_id, "a", "Title", None, text, 0, len(text), 1.0, 0.6, 5.0)


def test_passage_facts_hold_the_sentences_stems_and_terms_of_the_text() -> None:
    read = passage_facts(TEXT)
    assert [(s.start, s.end) for s in read.sentences] == sentence_spans(TEXT)
    assert read.whole.terms == terms(TEXT)
    for s in read.sentences:
        assert s.text == TEXT[s.start : s.end]
        assert s.said == stems(s.text)
        assert s.terms == terms(s.text)
        assert s.heading == is_heading(s.text)
        assert s.refers_back == refers_back(s.text)
    assert [s.heading for s in read.sentences] == [True, False, False, False, False]
    assert [s.refers_back for s in read.sentences] == [True, False, True, True, True]


def test_a_chunk_whose_text_changed_is_read_again() -> None:
    """A refreshed article keeps its chunk ids; the answer must come from the new text."""
    old = "The train travels at about 60 km/h. The lobsters were delivered to the train."
    new = "The train now travels at about 80 km/h. The lobsters were delivered to the train."
    first = extract_answer("How fast is the train?", [passage(old)], k=3)
    second = extract_answer("How fast is the train?", [passage(new)], k=3)
    assert "60 km/h" in first.answer
    assert "80 km/h" in second.answer
    (s, e), *_ = second.citations[0].highlights
    assert new[s:e] == "The train now travels at about 80 km/h."


def test_the_cache_is_bounded() -> None:
    text = "Sentence number {} of the filler. Another one. " * 20
    for i in range(2 * CACHED_CHARACTERS // len(text)):
        passage_facts(text.format(*[i] * 20))
    assert CACHED_CHARACTERS - len(text) < held_characters() <= CACHED_CHARACTERS
    held = passage_facts(text.format(*[0] * 20))  # the first, long gone: read again
    assert held is not passage_facts(text.format(*[1] * 20))
    assert held is passage_facts(text.format(*[0] * 20))  # now held


@pytest.mark.parametrize(
    "question",
    [
        "How fast did the convoy cross the border?",
        "How much grain did the convoy carry for the Russian army?",
        "When did he leave?",
        "Who met US officials?",
    ],
)
def test_features_after_other_questions_equal_those_from_a_cold_cache(question: str) -> None:
    """What one question left in the cache (pattern hits) must not change another's features."""
    ps = [passage(TEXT)]
    forget_passage_facts()
    cold = [f.values for f in features(question, ps)]
    forget_passage_facts()
    for other in ("How far is Vladivostok?", "How old is Kim?", "What is the price of grain?", "Who is Kim?"):
        features(other, ps)
    assert [f.values for f in features(question, ps)] == cold


def test_text_facts_find_what_found_finds_and_remember_pattern_hits() -> None:
    matcher = QuestionTerms("How fast did the Russian convoy cross the United States border?")
    for s in passage_facts(TEXT).sentences:
        assert matcher.found_in(s.facts) == matcher.found(s.text, terms(s.text))
    facts = TextFacts("It went at 60 km/h.", terms("It went at 60 km/h."))
    speed, age = (next(t.strong for t in TYPES if t.name == name) for name in ("speed", "age"))
    assert speed is not None and age is not None
    assert facts.matches(speed) and not facts.matches(age)
    assert facts.matches(speed) and not facts.matches(age)  # remembered, the same


def _longest_common_by_table(first: list[str], second: list[str]) -> int:
    longest = [0] * (len(second) + 1)
    for word in first:
        row = [0]
        for j, other in enumerate(second):
            row.append(longest[j] + 1 if word == other else max(longest[j + 1], row[j]))
        longest = row
    return longest[-1]


def test_longest_common_subsequence_equals_the_dynamic_programme() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        first = [rng.choice("abcdef") for _ in range(rng.randint(0, 10))]
        second = [rng.choice("abcdefgh") for _ in range(rng.randint(0, 80))]
        assert longest_common(first, word_masks(second)) == _longest_common_by_table(first, second)
    assert (
        longest_common(["kim", "train", "russia"], word_masks(["kim", "took", "a", "train", "to", "russia"]))
        == 3
    )
    assert longest_common(["kim", "train"], word_masks(["train", "for", "kim"])) == 1


@pytest.mark.parametrize(
    "text",
    [
        TEXT,
        "They confirmed the meeting.Kim left on Sunday. It rained.",  # a period glued to the next sentence
        "First one.Second one.Third, at 3.5 km.",
        "  Leading space. Trailing space.  \n\n  A heading\n\nLast line ",
    ],
)
def test_the_whole_texts_terms_are_those_of_the_text_read_at_once(text: str) -> None:
    """From the sentences' terms only where no word runs across two sentences ("meeting.Kim" is one)."""
    forget_passage_facts()
    assert passage_facts(text).whole.terms == terms(text)


def test_names_acronyms_and_demonyms_are_read_only_when_a_question_needs_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import retrieval.matching as matching

    calls: list[str] = []
    for name in ("_acronyms", "_demonyms", "_initials"):
        real = getattr(matching, name)
        monkeypatch.setattr(
            matching, name, lambda text, real=real, name=name: calls.append(name) or real(text)
        )
    text = "Dr. Kim met U.S. officials of the United Nations and a Russian envoy in Vladivostok."
    asked = [
        QuestionTerms(q)
        for q in ("Who met Kim in Vladivostok?", "Who met Kim in Russia?", "Whom did the UN send?")
    ]
    facts = TextFacts(text, terms(text))
    calls.clear()  # what reading the questions took
    assert asked[0].found_in(facts) == {"met", "kim", "vladivostok"}
    assert calls == []  # every term found as written
    assert asked[1].found_in(facts) == {"met", "kim", "russia"}
    assert calls == ["_demonyms"]
    assert asked[2].found_in(facts) == {"un"}
    assert calls.count("_acronyms") == 1 and "_initials" in calls
    assert facts.demonyms == {"russia"} and facts.named >= {"un", "us"} and "us" in facts.acronyms
    assert calls.count("_demonyms") == 1 and calls.count("_acronyms") == 1  # each read once
