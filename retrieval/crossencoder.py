"""The answerability cross-encoder at ask time: one batched pass over the candidates of an ask.

The packaged all-MiniLM-L6-v2 with its top layers fine-tuned (tools/train_crossencoder.py, dev
splits only) reads `[CLS] question [SEP] sentence [SEP] sentence before [SEP]` and gives the
log-odds that the sentence answers the question. The shipped file holds only the tuned layers,
the head and the calibration (retrieval/data/answerability-ce.safetensors, sha256 below). On
ONNX Runtime (the default) the whole model is exported once into the data directory, like the
embedder; with the torch backend it runs in torch. Both read the same token ids.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.embedding import resolve_model
from retrieval.errors import CitebotError

if TYPE_CHECKING:
    from config.settings import EmbeddingSettings
    from retrieval.embedding import Embedder

log = logging.getLogger(__name__)

DELTA_FILE = "answerability-ce.safetensors"
# sha256 of the shipped delta; tools/train_crossencoder.py prints it for a new build.
DELTA_SHA256 = "0ecfa12016f4c0211ac6d79279f54c2fdd80e67921213d998193623c55dd8865"
MAX_LENGTH = 128  # tokens of a pair; the sentence before is cut first, then the sentence


def delta_path() -> Path:
    """Return the path of the shipped fine-tuned layers, head and calibration."""
    return Path(str(resources.files("retrieval").joinpath("data", DELTA_FILE)))


def read_delta(path: Path | None = None, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Return the delta's arrays, checking the file's checksum (the shipped file's by default)."""
    path = path or delta_path()
    expected = DELTA_SHA256 if sha256 is None else sha256
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CitebotError(f"cannot read the answerability weights {path}: {exc}") from exc
    if expected and hashlib.sha256(raw).hexdigest() != expected:
        raise CitebotError(
            f"the answerability weights {path} do not match their checksum; "
            "rebuild them with `make answerability`"
        )
    from safetensors.numpy import load

    try:
        arrays = load(raw)
    except Exception as exc:  # a truncated or foreign file: say which file, not a stack trace
        raise CitebotError(f"the answerability weights {path} cannot be read: {exc}") from exc
    if "platt" not in arrays or "head.weight" not in arrays:
        raise CitebotError(f"the answerability weights {path} lack the head or its calibration")
    return arrays


def pair_tokenizer(model_dir: Path) -> Any:
    """Return the model's fast tokenizer for pairs: cut the second text only, pad to the longest."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_LENGTH, strategy="only_second")
    pad = "[PAD]"
    pad_id = tokenizer.token_to_id(pad)
    tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0, pad_token=pad)
    return tokenizer


def second_text(sentence: str, before: str) -> str:
    """Return the pair's second text: the sentence, then the sentence before it (cut first)."""
    return f"{sentence} [SEP] {before}" if before else sentence


def encode_pairs(
    tokenizer: Any, question: str, contexts: list[tuple[str, str]]
) -> dict[str, np.ndarray] | None:
    """Return the model inputs of (question, (sentence, before)) pairs, or None if the question fills a pair."""
    try:
        encodings = tokenizer.encode_batch([(question, second_text(s, b)) for s, b in contexts])
    except Exception:  # noqa: BLE001 - tokenizers raises a bare Exception when the question fills the pair
        return None
    if sum(1 for t in encodings[0].sequence_ids if t == 0) > MAX_LENGTH - 8:
        return None  # no room for the sentence: the gate decides without the check
    return {
        "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
    }


class CrossEncoder:
    """Scores (question, candidate) pairs: calibrated probabilities, one batched forward pass per ask."""

    def __init__(
        self, model_dir: Path, delta: dict[str, np.ndarray], forward: Any, backend: str = ""
    ) -> None:
        self.backend = backend  # "onnx" or "torch", for logs and tests
        self.tokenizer = pair_tokenizer(model_dir)
        self.platt = (float(delta["platt"][0]), float(delta["platt"][1]))
        self._forward = forward

    def logits(self, question: str, contexts: list[tuple[str, str]]) -> np.ndarray | None:
        """Return one log-odds per (sentence, sentence before), or None when the pair cannot be read."""
        if not contexts:
            return np.zeros(0, dtype=np.float32)
        feed = encode_pairs(self.tokenizer, question, contexts)
        if feed is None:
            return None
        return np.asarray(self._forward(feed), dtype=np.float32).reshape(len(contexts))

    def calibrated(self, logit: float) -> float:
        """Return the probability that the shown sentence answers, from its logit (Platt, fitted on dev)."""
        a, b = self.platt
        return float(1.0 / (1.0 + np.exp(-(a * logit + b))))


def torch_forward(model_dir: Path, delta: dict[str, np.ndarray], threads: int = 0) -> Any:
    """Return a forward function running the tuned model in torch."""
    import torch

    from retrieval.crossencoder_torch import load_scorer

    scorer = load_scorer(model_dir, delta)
    lock = threading.Lock()

    def forward(feed: dict[str, np.ndarray]) -> np.ndarray:
        with lock, torch.inference_mode():
            before = torch.get_num_threads()
            if threads:
                torch.set_num_threads(threads)
            try:
                out = scorer(**{k: torch.from_numpy(v) for k, v in feed.items()})
            finally:
                torch.set_num_threads(before)
        return np.asarray(out.numpy(), dtype=np.float32)

    return forward


def onnx_forward(path: Path, threads: int = 0) -> Any:
    """Return a forward function running an exported cross-encoder on ONNX Runtime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}

    def forward(feed: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(session.run(None, {k: v for k, v in feed.items() if k in names})[0])

    return forward


def make_cross_encoder(embedder: Embedder, settings: EmbeddingSettings) -> CrossEncoder:
    """Return the cross-encoder on the embedder's backend: ONNX Runtime beside an ONNX embedder, else torch."""
    from retrieval.onnx_embedding import OnnxEmbedder, ensure_export

    model_dir = Path(resolve_model("all-MiniLM-L6-v2"))
    delta = read_delta()
    inner = getattr(embedder, "inner", embedder)
    if isinstance(inner, OnnxEmbedder) and inner.on_onnx():
        try:
            path = ensure_export(
                model_dir,
                inner.export_root,
                "answerability-ce",
                module="retrieval.crossencoder_export",
                extra=(delta_path(),),
            )
            return CrossEncoder(model_dir, delta, onnx_forward(path, settings.threads), "onnx")
        except CitebotError as exc:
            if settings.backend == "onnx":
                raise
            log.warning("answerability check on torch instead of ONNX Runtime: %s", exc)
    return CrossEncoder(model_dir, delta, torch_forward(model_dir, delta, settings.query_threads), "torch")
