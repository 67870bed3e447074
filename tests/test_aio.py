"""The async service: a slow LLM holds up only LLM answers, never extractive ones or encoding."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from config.settings import LLMSettings, Settings
from retrieval.aio import AsyncCitebot
from retrieval.compose import build_async, build_service
from retrieval.llm import LLMAnswerer
from retrieval.models import SourceDocument
from retrieval.service import CitebotService
from tests.conftest import SEED_TEXT
from tests.fakes import HashEmbedder

QUESTION = "How fast is Kim's train?"


class GatedModel:
    """A chat model that answers only once its gate opens, counting the calls waiting on it."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.waiting = 0
        self._lock = threading.Lock()

    def invoke(self, messages: Any) -> AIMessage:
        with self._lock:
            self.waiting += 1
        self.gate.wait(timeout=30)
        return AIMessage("The train travels at about 60 km/h [1].")


@pytest.fixture
def gated(settings: Settings) -> Iterator[tuple[CitebotService, GatedModel]]:
    model = GatedModel()
    embedder = HashEmbedder()
    llm = LLMAnswerer(LLMSettings(provider="openai", model="gated", timeout=30), embedder, model)  # type: ignore[arg-type]
    limited = settings.model_copy(update={"llm": settings.llm.model_copy(update={"max_concurrent": 1})})
    service = build_service(limited, embedder=embedder, llm=llm)
    service.add_document(SourceDocument(SEED_TEXT, "Kim's train", "test"))
    yield service, model
    model.gate.set()
    service.close()


async def _until(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_a_slow_llm_never_holds_up_an_extractive_answer(
    gated: tuple[CitebotService, GatedModel],
) -> None:
    service, model = gated
    api: AsyncCitebot = build_async(service)
    slow = [asyncio.create_task(api.ask(QUESTION, "default")) for _ in range(3)]
    await _until(lambda: model.waiting == 1)  # one LLM answer writing, the others queued for the LLM

    quick = await asyncio.wait_for(api.ask(QUESTION, "default", use_llm=False), timeout=10)

    assert quick.answered_by == "extractive" and not quick.abstained
    assert not any(task.done() for task in slow)
    model.gate.set()
    answers = await asyncio.wait_for(asyncio.gather(*slow), timeout=30)
    assert all("llm" in a.timings_ms for a in answers) and model.waiting == 3
    assert "llm" not in quick.timings_ms


async def test_llm_answers_wait_for_the_llm_limit_not_for_each_other_s_encoding(
    gated: tuple[CitebotService, GatedModel],
) -> None:
    service, model = gated
    api = build_async(service)
    first = asyncio.create_task(api.ask(QUESTION, "default"))
    await _until(lambda: model.waiting == 1)
    calls = service.embedder.calls  # type: ignore[attr-defined]
    second = asyncio.create_task(api.ask("Why does Kim travel by train?", "default"))

    await _until(lambda: service.embedder.calls > calls)  # type: ignore[attr-defined]

    assert model.waiting == 1 and not second.done()  # embedded and searched, queued for the LLM only
    model.gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=30)
