"""The composition root: build the service (model, store, LLM, fetcher) from settings, once.

The CLI, the bot, tools/ and the tests all build their service here, so there is one place
that decides how the parts fit together.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.aio import AsyncCitebot
    from retrieval.embedding import Embedder
    from retrieval.llm import LLMAnswerer
    from retrieval.service import CitebotService


def build_service(
    settings: Settings,
    *,
    load_model: bool = True,
    embedder: Embedder | None = None,
    llm: LLMAnswerer | None = None,
) -> CitebotService:
    """Build the service: load the model in a worker thread while the store opens.

    Give `embedder` to reuse a model already loaded (tests, tools); give `llm` to use that
    answerer instead of the one the settings name. load_model=False skips the model's start-up
    cost for commands that never embed (list, remove).
    """
    from retrieval.lexvectors import one_blas_thread
    from retrieval.onnx_embedding import make_embedder
    from retrieval.service import CitebotService
    from retrieval.store import ChromaStore

    one_blas_thread()  # the search's vector products (lexvectors.py)
    if embedder is None and load_model:
        model = make_embedder(settings.embedding, settings.data_dir)
        with ThreadPoolExecutor(max_workers=1) as pool:
            loading = pool.submit(model.load)
            store = ChromaStore.from_settings(settings)
            loading.result()
        embedder = model
    else:
        embedder = embedder or make_embedder(settings.embedding, settings.data_dir)
        store = ChromaStore.from_settings(settings)
    if llm is None and settings.llm.provider != "none" and load_model:
        from retrieval.llm import LLMAnswerer

        llm = LLMAnswerer(settings.llm, embedder)
    return CitebotService(settings, embedder, store, llm=llm)


def build_async(service: CitebotService) -> AsyncCitebot:
    """Wrap a service for an event loop, with the concurrency limits its settings name."""
    from retrieval.aio import AsyncCitebot

    s = service.settings
    # Query embeddings get one slot more than the setting, as asks always had: one question is
    # short and single-threaded, so a second overlaps the first's waiting well (see `make loadtest`).
    return AsyncCitebot(service, max_encodes=s.embedding.max_concurrent + 1, max_llm=s.llm.max_concurrent)


def scratch_settings(
    settings: Settings, data_dir: Path, kb: str, *, llm: bool = False, **changes: Any
) -> Settings:
    """Return settings for a temporary embedded store in data_dir (LLM off unless llm=True).

    Evaluation, benchmarks and tools measure on a fresh store of their own, never the user's.
    changes are per-section updates, e.g. search={"mode": "bm25"}.
    """
    update: dict[str, Any] = {
        "data_dir": data_dir,
        "kb": kb,
        "chroma": settings.chroma.model_copy(update={"url": None}),
        "llm": settings.llm if llm else settings.llm.model_copy(update={"provider": "none"}),
    }
    for section, values in changes.items():
        update[section] = getattr(settings, section).model_copy(update=values)
    return settings.model_copy(update=update)
