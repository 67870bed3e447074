"""Tests of the answerability check: candidates, labels, only-sure answers and the service."""

from __future__ import annotations

import pytest

from config.settings import Settings
from retrieval import answerability as ab
from retrieval.embedding import SentenceTransformerEmbedder

NORMANS = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
    "a region in France. They were descended from Norse raiders and pirates from Denmark, Iceland "
    "and Norway who, under their leader Rollo, agreed to swear fealty to King Charles III of West "
    "Francia. The distinct cultural and ethnic identity of the Normans emerged initially in the "
    "first half of the 10th century, and it continued to evolve over the succeeding centuries."
)


def test_labels_follow_the_sure_threshold() -> None:
    assert ab.label_for(0.8, 0.6) == "sure"
    assert ab.label_for(0.6, 0.6) == "sure"
    assert ab.label_for(0.59, 0.6) == "unsure"
    assert ab.label_for(None, 0.6) is None


def test_only_sure_answers_turns_an_unsure_answer_into_an_abstention() -> None:
    from retrieval.models import Answer, Citation

    cite = Citation(1, "a", "T", None, "text", 0, 4, 1.0)
    unsure = Answer("q?", "An answer. [1]", False, (cite,), confidence=0.4, label="unsure")
    held = ab.withhold_unsure(unsure)
    assert held.abstained and not held.citations and held.label is None
    sure = Answer("q?", "An answer. [1]", False, (cite,), confidence=0.9, label="sure")
    assert ab.withhold_unsure(sure) is sure


@pytest.mark.model
def test_the_service_is_less_sure_of_a_trap_question_than_of_the_one_the_article_answers(
    settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> None:
    from retrieval.compose import build_service
    from retrieval.models import SourceDocument

    answer = settings.answer.model_copy(update={"answerability": True})  # off by default
    service = build_service(settings.model_copy(update={"answer": answer}), embedder=real_embedder)
    try:
        service.add_document(SourceDocument(NORMANS, "Normans", "test"))
        answered = service.ask("When did the identity of the Normans emerge?")
        assert not answered.abstained and "first half of the 10th century" in answered.answer
        assert answered.confidence is not None and answered.label in ("sure", "unsure")
        trap = service.ask("When did the Frankish identity emerge?")
        assert trap.abstained or (trap.confidence or 0.0) < answered.confidence
    finally:
        service.close()


def test_sure_confidence_below_min_confidence_is_refused() -> None:
    from pydantic import ValidationError

    from config.settings import AnswerSettings

    with pytest.raises(ValidationError, match="sure_confidence"):
        AnswerSettings(min_confidence=0.5, sure_confidence=0.4)
