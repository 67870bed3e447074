"""The ONNX Runtime embedder reads (question, context) pairs as torch does: the answerability head on by default."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from config.settings import EmbeddingSettings, Settings
from retrieval import answerability as ab
from retrieval.compose import build_service
from retrieval.embedding import PairStates, SentenceTransformerEmbedder
from retrieval.onnx_embedding import OnnxEmbedder, make_embedder
from retrieval.service import CitebotService
from tests.conftest import EXPORT_DIR, SEED_TEXT, _drop_all
from tests.test_answerability import NORMANS

pytestmark = pytest.mark.model

SENTENCES = [s.strip() + "." for s in NORMANS.split(". ") if s.strip()]
# (question, candidate sentences): answered, trap (another relation / name), accents, a context
# past the 128-token pair limit (cut on the context side), punctuation and digits in the question.
PAIRS = [
    ("When did the identity of the Normans emerge?", SENTENCES[2:3] + SENTENCES[:2]),
    ("When did the Frankish identity emerge?", SENTENCES[2:3] + SENTENCES[1:2]),
    ("Who swore fealty to King Charles III of West Francia?", SENTENCES[1:2]),
    ("Où est né Kim Jong Un, l'héritier?", [SEED_TEXT[:400], "Ünïcödé façade — naïve café."]),
    ("What is the train's top speed (km/h) in 2023?", [SEED_TEXT[:3000], SENTENCES[0]]),
]


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxEmbedder:
    """The packaged model on ONNX Runtime, exported once into the shared test cache."""
    embedder = make_embedder(EmbeddingSettings(export_dir=EXPORT_DIR), EXPORT_DIR)
    assert isinstance(embedder, OnnxEmbedder)
    embedder.load()
    return embedder


def _row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))


def _states(embedder: OnnxEmbedder | SentenceTransformerEmbedder, q: str, c: list[str]) -> list[PairStates]:
    states = embedder.pair_states(q, c)
    assert states is not None
    return states


def test_the_onnx_embedder_reads_pairs_for_the_packaged_model(onnx_embedder: OnnxEmbedder) -> None:
    assert onnx_embedder.reads_pairs
    assert onnx_embedder.pair_states("Who?", []) == []


@pytest.mark.parametrize(("question", "contexts"), PAIRS, ids=[q[:24] for q, _ in PAIRS])
def test_onnx_pair_states_match_torch(
    onnx_embedder: OnnxEmbedder,
    real_embedder: SentenceTransformerEmbedder,
    question: str,
    contexts: list[str],
) -> None:
    got, want = _states(onnx_embedder, question, contexts), _states(real_embedder, question, contexts)
    assert len(got) == len(want) == len(contexts)
    for g, w in zip(got, want, strict=True):
        assert g.words == w.words
        assert g.question.shape == w.question.shape and g.context.shape == w.context.shape
        assert _row_cosines(g.question, w.question).min() >= 0.999
        assert _row_cosines(g.context, w.context).min() >= 0.999
        assert np.allclose(np.linalg.norm(g.context, axis=1), 1.0, atol=1e-5)


def test_a_long_context_is_cut_to_the_pair_limit_on_both_backends(
    onnx_embedder: OnnxEmbedder, real_embedder: SentenceTransformerEmbedder
) -> None:
    question = "What is the train's top speed?"
    got, want = _states(onnx_embedder, question, [SEED_TEXT]), _states(real_embedder, question, [SEED_TEXT])
    # [CLS] question [SEP] context [SEP] fills exactly 128 tokens; the question is kept whole.
    assert len(got[0].question) + len(got[0].context) + 3 == 128
    assert got[0].context.shape == want[0].context.shape
    assert [w for _, w in got[0].words] == ["What", "is", "the", "train", "'", "s", "top", "speed", "?"]


def test_a_question_that_fills_the_pair_is_not_read_on_either_backend(
    onnx_embedder: OnnxEmbedder, real_embedder: SentenceTransformerEmbedder
) -> None:
    # 490 CJK characters fit the question limit but are some 490 tokens: no room for a context.
    question = "金正恩乘坐装甲列车前往俄罗斯" * 35
    assert onnx_embedder.pair_states(question, [SEED_TEXT]) is None
    assert real_embedder.pair_states(question, [SEED_TEXT]) is None
    near_limit = "why " * 120 + "?"  # 121 tokens: still room for a few context tokens
    got = onnx_embedder.pair_states(near_limit, [SEED_TEXT])
    assert got is not None and len(got[0].question) + len(got[0].context) + 3 == 128


@pytest.mark.parametrize(("question", "contexts"), PAIRS[:3], ids=[q[:24] for q, _ in PAIRS[:3]])
def test_the_answerability_confidence_is_the_same_on_both_backends(
    onnx_embedder: OnnxEmbedder,
    real_embedder: SentenceTransformerEmbedder,
    question: str,
    contexts: list[str],
) -> None:
    head = ab.load_head()
    candidates = [ab.Candidate(c, "", "Normans", -0.1 * i, 0.5, 0.5, 0.0) for i, c in enumerate(contexts)]
    lexical = ab.lexical_features(question, candidates, 0.6, 0.8)
    got = head.probabilities(_states(onnx_embedder, question, contexts), lexical)
    want = head.probabilities(_states(real_embedder, question, contexts), lexical)
    assert np.abs(got - want).max() <= 1e-3
    assert len(set(np.round(want, 3))) > 1 or len(want) == 1  # real, distinct confidences


@pytest.fixture
def default_service(settings: Settings) -> Iterator[CitebotService]:
    """The service as `citebot` builds it (ONNX Runtime by default), with the answerability check on."""
    answer = settings.answer.model_copy(update={"answerability": True})  # off by default
    service = build_service(settings.model_copy(update={"answer": answer}))
    yield service
    service.close()
    _drop_all(service.store)


def test_the_default_backend_runs_the_answerability_check_when_enabled(
    default_service: CitebotService,
) -> None:
    from retrieval.models import SourceDocument

    assert isinstance(default_service.embedder, OnnxEmbedder)
    assert default_service.answerability() is not None
    default_service.add_document(SourceDocument(NORMANS, "Normans", "test"))
    answered = default_service.ask("When did the identity of the Normans emerge?")
    assert not answered.abstained and answered.confidence is not None
    assert answered.label in ("sure", "unsure")
