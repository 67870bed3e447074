"""The unanswerable twins of answerable questions (tools/adversarial_questions.py)."""

from __future__ import annotations

import random

from tools.adversarial_questions import antonym, edits, negate, spans, swap

ARTICLE = (
    "The Normans were a people who gave their name to Normandy. In 1066 William of Normandy "
    "conquered England. Then the Byzantine Empire hired Norman mercenaries, and Robert Guiscard "
    "fought Alexius Komnenos at Dyrrhachium in 1081."
)
CONTEXT = "In 1066 William of Normandy conquered England."


def test_spans_keep_names_years_numbers_and_skip_capitals_that_start_a_sentence() -> None:
    found = spans("In 1081 Robert Guiscard took 300 ships. Then the Normans left.")
    assert found["year"] == ["1081"]
    assert found["number"] == ["300"]
    assert found["name"] == ["Robert Guiscard"]  # "In" and "Then" start a sentence: not names


def test_swap_puts_another_name_of_the_article_that_the_context_does_not_hold() -> None:
    question = "When did William of Normandy conquer England?"
    edited = swap(question, CONTEXT, ARTICLE, random.Random(0), role=False)
    assert edited is not None and edited != question
    new = [s for s in spans(ARTICLE)["name"] + spans(ARTICLE)["year"] if s in edited]
    assert new and all(s.lower() not in CONTEXT.lower() for s in new if s not in question)


def test_role_swap_takes_the_other_participant_from_the_context() -> None:
    context = "Robert Guiscard fought Alexius Komnenos at Dyrrhachium in 1081."
    edited = swap("Whom did Robert Guiscard fight in 1081?", context, ARTICLE, random.Random(0), role=True)
    assert edited is not None
    assert "Robert Guiscard" not in edited or "Alexius Komnenos" in edited or "Dyrrhachium" in edited


def test_swap_needs_a_name_the_context_confirms() -> None:
    assert swap("What did Harold do?", CONTEXT, ARTICLE, random.Random(0), role=False) is None


def test_negation_after_an_auxiliary_only_where_it_reads() -> None:
    assert negate("Who was appointed governor in 1756?") == "Who was not appointed governor in 1756?"
    assert negate("Who is the President of Egypt?") == "Who is not the President of Egypt?"
    assert negate("What are rotors mounted on?") is None  # inverted: "not" would go after the subject
    assert negate("Who was not appointed?") is None  # already negated


def test_antonym_replaces_one_word() -> None:
    assert antonym("Who was the first king?", random.Random(0)) == "Who was the last king?"
    assert antonym("Where is the river?", random.Random(0)) is None


def test_edits_are_deterministic_bounded_and_always_change_the_question() -> None:
    question = "When was the first Norman castle built in Normandy?"
    first = edits(question, "The first Norman castle was built in Normandy in 1066.", ARTICLE)
    assert first == edits(question, "The first Norman castle was built in Normandy in 1066.", ARTICLE)
    assert 1 <= len(first) <= 2
    assert all(q != question for _, q in first)
    assert len(edits(question, CONTEXT, ARTICLE, most=4)) >= len(first)
