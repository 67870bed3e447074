"""With an LLM configured, /ask streams verified sentences into the message, then the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from config.settings import LLMSettings, Settings
from retrieval.embedding import MemoEmbedder
from retrieval.llm import LLMAnswerer
from tests.bot.harness import World, embed_of, running_world
from tests.fakediscord import InteractionHandle

KIM_QUESTION = "How fast is Kim's train?"


def _llm(model: MemoEmbedder, reply: str) -> LLMAnswerer:
    chat = GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))
    return LLMAnswerer(LLMSettings(provider="openai", model="scripted", stream_interval=0.0), model, chat)


@pytest_asyncio.fixture
async def supported(quiet_settings: Settings, model: MemoEmbedder) -> AsyncIterator[World]:
    reply = (
        "The armored train travels at about 60 km/h [1]. "
        "The 1,200 km trip between Pyongyang and Vladivostok takes about 20 hours [1]."
    )
    async with running_world(quiet_settings, model, llm=_llm(model, reply)) as world:
        yield world


async def test_a_verified_llm_answer_streams_into_the_message_then_settles(supported: World) -> None:
    handle = await supported.ask(KIM_QUESTION)
    await handle.wait_until(settled, 30)
    assert handle.original is not None
    versions = [embed_of_version(v) for v in handle.original.history]
    drafts = [v for v in versions if v and "is writing" in v["footer"]["text"]]
    assert drafts, "no draft was shown while the answer streamed"
    assert all("km/h" in d["description"] for d in drafts)
    final = embed_of(handle.original)
    assert "60 km/h" in final["description"]
    assert "[1]" in final["description"]
    assert final["footer"]["text"].endswith("· scripted")
    assert handle.original.button_ids()
    assert len(supported.fake.bot_messages()) == 1, "drafts edit one message; no second message"
    supported.fake.assert_no_violations()


def settled(handle: InteractionHandle) -> bool:
    """Tell whether the message shows a final answer (not a draft)."""
    footer = embed_of(handle.original).get("footer", {}).get("text", "") if handle.original else ""
    return bool(footer) and "is writing" not in footer


def embed_of_version(version: object) -> dict[str, object] | None:
    embeds = getattr(version, "embeds", None) or (
        version.get("embeds") if isinstance(version, dict) else None
    )
    return embeds[0] if embeds else None


async def test_a_fabricated_number_falls_back_to_the_extractive_answer(
    quiet_settings: Settings, model: MemoEmbedder
) -> None:
    llm = _llm(model, "The armored train travels at about 90 km/h [1]. It has 40 carriages [1].")
    async with running_world(quiet_settings, model, llm=llm) as world:
        handle = await world.ask(KIM_QUESTION)
        await handle.wait_until(settled, 30)
        final = embed_of(handle.original)
        assert "60 km/h" in final["description"]
        assert "90 km/h" not in str(final)
        assert final["footer"]["text"].endswith("· extractive")
        world.fake.assert_no_violations()
