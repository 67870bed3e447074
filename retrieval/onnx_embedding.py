"""The embedding model on ONNX Runtime: exported once into the data directory, then torch-free.

Asking and adding need only onnxruntime, tokenizers and numpy: importing sentence-transformers
and torch costs seconds per process start (docs/performance.md). The export itself needs torch,
transformers and onnx, and runs once, in a subprocess (`retrieval.onnx_export`), on first use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.embedding import (
    PAIR_MAX_LENGTH,
    Embedder,
    PairReader,
    PairStates,
    SentenceTransformerEmbedder,
    pair_states_from,
    resolve_model,
    unit_vector,
)
from retrieval.errors import CitebotError

if TYPE_CHECKING:
    from config.settings import EmbeddingSettings

log = logging.getLogger(__name__)

# Bump when the exported file's shape or the export recipe changes: old exports are redone.
EXPORT_FORMAT = 1
_MODEL, _MANIFEST = "model.onnx", "manifest.json"
_SMALL_FILES = (
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
    "tokenizer.json",
    "tokenizer_config.json",
)


def unsupported_reason(model_dir: Path) -> str | None:
    """Say why ONNX Runtime cannot stand in for this sentence-transformers model (None: it can)."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in _json(model_dir / "modules.json")]
        pooling = _json(model_dir / "1_Pooling" / "config.json")
        config = _json(model_dir / "config.json")
        st_config = _json(model_dir / "sentence_bert_config.json")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"not a local sentence-transformers model directory ({exc})"
    if modules not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"modules {modules} (only Transformer, mean Pooling and Normalize are exported)"
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        return f"pooling {modes} (only mean pooling is exported)"
    if "type_vocab_size" not in config or st_config.get("do_lower_case"):
        return "a model without token type ids, or with lower-casing outside its tokenizer"
    if not (model_dir / "tokenizer.json").is_file():
        return "no tokenizer.json (a fast tokenizer is needed)"
    return None


def source_key(model_dir: Path) -> str:
    """Return a digest naming this model's files (small files by content, weights by size and time)."""
    digest = hashlib.sha256(f"format {EXPORT_FORMAT}\n".encode())
    for name in _SMALL_FILES:
        path = model_dir / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-"))
    for path in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        st = path.stat()
        digest.update(f"{path.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in 1 MiB pieces (no copy of it stays in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def checked_export(directory: Path) -> Path | None:
    """Return the exported model file if its manifest and checksum match, else None."""
    try:
        manifest = _json(directory / _MANIFEST)
        model = directory / _MODEL
        if manifest.get("format") == EXPORT_FORMAT and manifest.get("sha256") == file_sha256(model):
            return model
    except (OSError, ValueError, AttributeError):
        pass
    return None


def ensure_export(model_dir: Path, cache_root: Path, name: str = "") -> Path:
    """Return the ONNX file of model_dir under cache_root, exporting it first if absent or corrupt."""
    key = source_key(model_dir)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.rsplit("/", 1)[-1] or model_dir.name)
    target = cache_root / f"{slug}-{key[:16]}"
    found = checked_export(target)
    if found is not None:
        return found
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_root))
    try:
        log.warning("exporting embedding model %s to ONNX in %s (once; some seconds)", slug, cache_root)
        cmd = [sys.executable, "-m", "retrieval.onnx_export", str(model_dir), str(tmp / _MODEL)]
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if done.returncode != 0:
            raise CitebotError(f"could not export {model_dir.name} to ONNX: {done.stderr.strip()[-800:]}")
        manifest = {"format": EXPORT_FORMAT, "source": str(model_dir), "source_key": key}
        manifest["sha256"] = file_sha256(tmp / _MODEL)
        (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if checked_export(target) is None:  # another process may have finished first
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    found = checked_export(target)
    if found is None:
        raise CitebotError(f"the ONNX export in {target} does not match its checksum")
    return found


def onnx_runtime_available() -> bool:
    """Tell whether onnxruntime and tokenizers can be imported (without importing them)."""
    return find_spec("onnxruntime") is not None and find_spec("tokenizers") is not None


def make_embedder(settings: EmbeddingSettings, data_dir: Path) -> Embedder:
    """Return the ONNX Runtime embedder when settings and the model allow it, else the torch one."""
    if settings.backend == "torch" or settings.device != "cpu":
        return SentenceTransformerEmbedder(settings)
    model_dir = Path(resolve_model(settings.model))
    why = unsupported_reason(model_dir) if model_dir.is_dir() else "not a local model directory"
    if why is None and not onnx_runtime_available():
        why = "onnxruntime or tokenizers is not installed"
    if why is None:
        return OnnxEmbedder(settings, model_dir, settings.export_dir or data_dir / "models")
    if settings.backend == "onnx":
        raise CitebotError(f"CITEBOT_EMBEDDING__BACKEND=onnx cannot run {settings.model!r}: {why}")
    log.info("embedding with torch: ONNX Runtime cannot run %s: %s", settings.model, why)
    return SentenceTransformerEmbedder(settings)


class OnnxEmbedder(PairReader):
    """Embed with ONNX Runtime: the same vectors as sentence-transformers (cosine >= 0.999)."""

    def __init__(self, settings: EmbeddingSettings, model_dir: Path, cache_root: Path) -> None:
        self.name = settings.model
        self._settings = settings
        self._model_dir = model_dir
        self._cache_root = cache_root
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._pair_tokenizer: Any = None
        self._inputs: list[str] = []
        self._pad_id = 0
        self._fallback: SentenceTransformerEmbedder | None = None
        self.dimension = 0

    @property
    def export_root(self) -> Path:
        """Return the directory the ONNX exports are kept in."""
        return self._cache_root

    def export(self) -> Path:
        """Return the checked ONNX file of the model, exporting it first if needed."""
        return ensure_export(self._model_dir, self._cache_root, self.name)

    def load(self) -> None:
        """Export if needed and open the model (call from a worker thread; later calls do nothing)."""
        with self._lock:
            if self._session is not None or self._fallback is not None:
                return
            try:
                self._open(self.export())
            except CitebotError as exc:
                if self._settings.backend == "onnx":
                    raise
                log.warning("embedding with torch instead of ONNX Runtime: %s", exc)
                fallback = SentenceTransformerEmbedder(self._settings)
                fallback.load()
                self._fallback, self.dimension = fallback, fallback.dimension

    def _open(self, path: Path) -> None:
        import onnxruntime as ort

        log.info("loading embedding model %s (ONNX Runtime, %s)", self.name, path.parent.name)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._settings.threads or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: with other processes on the same cores,
        # spinning threads wait for each other (p50 44 -> 4.6 ms on a loaded 2-core machine).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        st_config = _json(self._model_dir / "sentence_bert_config.json")
        # Unpadded: texts are batched by token length and padded per batch (_run).
        tokenizer = self._tokenizer_for(
            int(st_config.get("max_seq_length") or 512), "longest_first", pad=False
        )
        # Pairs are cut as sentence-transformers' tokenizer cuts them for the torch path:
        # the context only, to the length the answerability head was trained on.
        pairs = self._tokenizer_for(PAIR_MAX_LENGTH, "only_second")
        self._inputs = [i.name for i in session.get_inputs()]
        self.dimension = int(_json(self._model_dir / "config.json")["hidden_size"])
        self._tokenizer, self._pair_tokenizer, self._session = tokenizer, pairs, session

    def _tokenizer_for(self, max_length: int, strategy: str, *, pad: bool = True) -> Any:
        """Return the model's fast tokenizer, cutting at max_length and padding to the longest (or not)."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length, strategy=strategy)
        padding = tokenizer.padding or {}
        pad_token = padding.get("pad_token", "[PAD]")
        pad_id = tokenizer.token_to_id(pad_token)
        self._pad_id = pad_id if pad_id is not None else 0
        if pad:
            tokenizer.enable_padding(pad_id=self._pad_id, pad_token=pad_token)
        else:
            tokenizer.no_padding()  # tokenizer.json may pad every text to a fixed length
        return tokenizer

    def _run(self, encodings: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Return the token vectors (batch, tokens, dim) of encoded texts, and their attention mask."""
        ids = np.full((len(encodings), max(len(e.ids) for e in encodings)), self._pad_id, dtype=np.int64)
        mask, types = np.zeros_like(ids), np.zeros_like(ids)
        for row, e in enumerate(encodings):  # padded here, to the batch's longest text
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        tokens = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return np.asarray(tokens, dtype=np.float32), mask

    def _batches(self, encodings: list[Any]) -> list[list[int]]:
        """Return indices in batches of similar token length, each within the padded-token budget."""
        # Padding is computed for nothing, and a batch's attention scores grow with its size:
        # small batches of equal length ran 1.4x faster than 64 texts sorted by characters.
        lengths = [len(e.ids) for e in encodings]
        budget, most = self._settings.batch_tokens, self._settings.batch_size
        batches: list[list[int]] = []
        for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
            last = batches[-1] if batches else []
            if not last or len(last) >= most or (len(last) + 1) * lengths[last[0]] > budget:
                batches.append(last := [])
            last.append(i)
        return batches

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return unit vectors for texts, loading the model on first use."""
        if self._session is None:
            self.load()
        if self._fallback is not None:
            return self._fallback.encode(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        for index in self._batches(encodings):
            tokens, mask = self._run([encodings[i] for i in index])
            vectors[index] = _mean_pool(tokens, mask)
        return vectors

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return the texts' vectors and, from the same forward pass, the spans' mean token vectors."""
        if self._session is None:
            self.load()
        if self._fallback is not None:
            return self._fallback.encode_passages(texts, spans)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        encodings = self._tokenizer.encode_batch(texts)
        for index in self._batches(encodings):
            tokens, mask = self._run([encodings[i] for i in index])
            vectors[index] = _mean_pool(tokens, mask)
            for row, i in enumerate(index):
                starts, ends = np.asarray(encodings[i].offsets, dtype=np.int64).reshape(-1, 2).T
                own = tokens[row, : len(starts)]  # the text's tokens, without the batch's padding
                out = np.zeros((len(spans[i]), self.dimension), dtype=np.float32)
                for j, (s, e) in enumerate(spans[i]):
                    # Special tokens have empty offsets; truncated tokens are absent.
                    inside = (ends > starts) & (starts >= s) & (ends <= e)
                    if inside.any():
                        out[j] = unit_vector(own[inside].mean(axis=0))
                pooled[i] = out
        return vectors, pooled

    def count_tokens(self, text: str) -> int:
        """Return how many tokens the model's tokenizer makes of text (up to its length limit)."""
        if self._fallback is not None:
            return self._fallback.count_tokens(text)
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def _read_pairs(self, question: str, contexts: list[str], max_length: int) -> list[PairStates] | None:
        """Run the transformer over the pairs, tokenized as sentence-transformers' tokenizer does."""
        if self._fallback is not None:
            return self._fallback.pair_states(question, contexts, max_length)
        tokenizer = self._pair_tokenizer
        if max_length != PAIR_MAX_LENGTH:
            tokenizer = self._tokenizer_for(max_length, "only_second")
        encodings = tokenizer.encode_batch([(question, c) for c in contexts])
        tokens, _ = self._run(encodings)
        return pair_states_from(tokens, encodings, question)


def _mean_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return unit mean vectors of the tokens the mask keeps, one per row."""
    weights = mask[..., None].astype(np.float32)
    sums = (tokens * weights).sum(axis=1)
    means = sums / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    unit: np.ndarray = (means / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return unit


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
