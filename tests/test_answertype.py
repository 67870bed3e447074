"""Answer types: what a question asks for, and which sentences hold it (no model)."""

from __future__ import annotations

import pytest

from retrieval.answer import extract_answer
from retrieval.answertype import STRONG, WEAK, asked_type, cue
from retrieval.models import Passage


def passage(text: str, start: int = 0) -> Passage:
    return Passage(f"a:{start}", "a", "Title", None, text, start, start + len(text), 1.0, 0.6, 5.0)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How fast is Kim's train?", "speed"),
        ("At what speed does the ferry sail?", "speed"),
        ("How far is Vladivostok from Pyongyang?", "distance"),
        ("what about the distance?", "distance"),
        ("and how long does the trip take?", "duration"),
        ("How many hours does the flight last?", "duration"),
        ("How old is the bridge?", "age"),
        ("How much did the stadium cost?", "money"),
        ("What percentage of voters turned out?", "percent"),
        ("When did Kim arrive?", "date"),
        ("In what year was the treaty signed?", "date"),
        ("How many carriages does the train have?", "number"),
        ("Who did Kim meet in Hanoi?", "person"),
        ("Where did the train cross the border?", "place"),
        ("Which newspaper reported how fast the train goes?", "name"),
        ("What does Russia want?", None),
        ("What colour is Kim's train?", "colour"),
        ("Which color are the carriages?", "colour"),
        ("What is Kim's position on Russia's war in Ukraine?", "stance"),
        ("What is the party's stance towards immigration?", "stance"),
        ("How does the union feel about the plan?", "stance"),
        ("What was her opinion of the treaty?", "stance"),
        ("Is the council for or against the garage?", "stance"),
        ("What is the position of the sun at noon?", None),  # a place, not a side taken
        ("What position did he play?", None),
        ("What is the view of the valley like from the north tower?", None),  # a sight, not a side taken
        ("What is Kim's view of the war?", "stance"),
        ("What are their views on the garage?", "stance"),
    ],
)
def test_the_asked_type_is_read_from_the_question_wording(question: str, kind: str | None) -> None:
    found = asked_type(question)
    assert (found.name if found else None) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "score"),
    [
        ("How fast is it?", "It moves at about 60 km/h.", STRONG),
        ("How fast is it?", "It has 60 carriages.", WEAK),
        ("How fast is it?", "It is green.", 0.0),
        ("How far is it?", "The 1,200 km trip is long.", STRONG),
        ("How long does the trip take?", "The trip takes about 20 hours.", STRONG),
        ("How long does the trip take?", "It made a 60-hour round trip.", STRONG),
        ("How much did it cost?", "It cost $38 million.", STRONG),
        ("How much did it cost?", "It cost 38 million dollars.", STRONG),
        ("What percentage was full?", "It was 55 percent full.", STRONG),
        ("When did he leave?", "He left on Sunday.", WEAK),
        ("Who met him?", "he was met by Putin.", WEAK),
        ("What colour is the train?", "It is painted green and gold.", STRONG),
        ("What colour is the train?", "It has 60 carriages.", 0.0),
        ("What is his position on the war?", "He has strongly supported the war.", STRONG),
        ("What is his position on the war?", "The senator opposes it.", STRONG),
        ("What is his position on the war?", "He was an early backer of the campaign.", STRONG),
        ("What is his position on the war?", "The war began in 2022.", 0.0),  # a number is no cue
        ("What is his position on the war?", "He came back in 2019.", 0.0),
    ],
)
def test_a_sentence_holding_the_asked_unit_scores_above_a_bare_number(
    question: str, sentence: str, score: float
) -> None:
    assert cue(question, sentence) == score


def test_a_speed_sentence_that_never_names_the_train_still_answers_how_fast() -> None:
    text = (
        "Kim left on Sunday in his private green and gold train. "
        "According to a newspaper, the convoy travels at about 60 km/h and takes 20 hours."
    )
    got = extract_answer("How fast is Kim's train?", [passage(text)], k=3)
    assert not got.abstained
    assert "60 km/h" in got.answer


def test_a_heading_is_never_the_answer_on_its_own() -> None:
    text = "The Rukban camp\n\nThe camp was set up in 2014 near the border with Jordan."
    got = extract_answer("What is the Rukban camp?", [passage(text)], k=3)
    assert got.answer.startswith("The camp was set up in 2014")


def test_a_follow_up_keeps_its_own_answer_type_with_the_question_before_as_context() -> None:
    text = (
        "The train moves at 60 km/h, so the 1,200 km trip takes 20 hours. "
        "In 2019 Kim made a 60-hour round trip to Hanoi by plane."
    )
    got = extract_answer("what about the distance?", [passage(text)], k=3, context="How fast is Kim's train?")
    assert "1,200 km" in got.answer


def test_a_stance_question_is_answered_by_the_side_taken_not_by_a_sentence_on_the_topic() -> None:
    text = (
        "An analyst said the governor's army needs shells for Russia's long war in Ukraine. "
        "The governor has firmly backed the Russian campaign in Ukraine."
    )
    got = extract_answer("What is the governor's position on Russia's war in Ukraine?", [passage(text)], k=3)
    assert "firmly backed" in got.answer


def test_a_sight_called_a_view_is_answered_by_the_sentence_on_the_sight() -> None:
    text = (
        "The north tower gives visitors the best view of the valley and the river below. "
        "The town council supported a plan to rebuild the old tower in 2004. Tickets cost five euros."
    )
    got = extract_answer("What is the view of the valley like from the north tower?", [passage(text)], k=3)
    assert got.answer.startswith("The north tower gives visitors the best view")
