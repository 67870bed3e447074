"""The service with an LLM configured: verified answers shown, unverified ones replaced."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from config.settings import LLMSettings, Settings
from retrieval.compose import build_service
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.llm import LLMAnswerer
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from tests.conftest import SEED_TEXT

QUESTION = "How fast is Kim's train?"


def _service(settings: Settings, embedder: SentenceTransformerEmbedder, reply: str) -> CitebotService:
    model = FakeListChatModel(responses=[reply])
    llm = LLMAnswerer(LLMSettings(provider="openai", model="scripted"), embedder, model)
    service = build_service(settings, embedder=embedder, llm=llm)
    service.add_document(SourceDocument(SEED_TEXT, "Kim's train", "test"))
    return service


def test_a_verified_llm_answer_is_shown_with_its_model(
    settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> None:
    got = _service(settings, real_embedder, "The train travels at about 60 km/h [1].").ask(QUESTION)
    assert got.answered_by == "scripted"
    assert got.answer == "The train travels at about 60 km/h. [1]"
    assert got.citations[0].highlights
    assert "llm" in got.timings_ms


def test_an_unverified_llm_answer_falls_back_to_the_extractive_one(
    settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> None:
    got = _service(settings, real_embedder, "The train travels at about 90 km/h [1].").ask(QUESTION)
    assert got.answered_by == "extractive"
    assert "60 km/h" in got.answer


def test_a_follow_up_is_rewritten_by_the_llm_into_a_standalone_question(
    settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> None:
    service = _service(settings, real_embedder, "How long is the train journey from Pyongyang to the border?")
    question, context = service.standalone_question("How fast is Kim's train?", "and how long is the trip?")
    assert question == "How long is the train journey from Pyongyang to the border?"
    assert context is None


def test_without_an_llm_a_follow_up_keeps_the_previous_question_as_context(
    settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> None:
    service = build_service(settings, embedder=real_embedder)
    assert service.standalone_question("How fast is Kim's train?", "and why?") == (
        "and why?",
        "How fast is Kim's train?",
    )
