"""Tests of the answerability check: features, the head, its weights, labels and the service."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config.settings import Settings
from retrieval import answerability as ab
from retrieval.embedding import PairStates, SentenceTransformerEmbedder
from retrieval.errors import CitebotError

NORMANS = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
    "a region in France. They were descended from Norse raiders and pirates from Denmark, Iceland "
    "and Norway who, under their leader Rollo, agreed to swear fealty to King Charles III of West "
    "Francia. The distinct cultural and ethnic identity of the Normans emerged initially in the "
    "first half of the 10th century, and it continued to evolve over the succeeding centuries."
)


def candidate(text: str, before: str = "", score: float = 0.0) -> ab.Candidate:
    return ab.Candidate(text, before, "Normans", score, 0.5, 0.5, 0.0)


def column(rows: np.ndarray, name: str) -> list[float]:
    return [float(v) for v in rows[:, ab.LEXICAL.index(name)]]


def test_lexical_features_count_a_name_of_the_question_missing_from_the_sentence() -> None:
    found = [
        candidate("The identity of the Normans emerged in the first half of the 10th century."),
        candidate("The Frankish identity emerged in the 9th century."),
    ]
    rows = ab.lexical_features("When did the Frankish identity emerge?", found, 0.6, 0.8)
    assert rows.shape == (2, len(ab.LEXICAL))
    assert column(rows, "missing_names") == [1.0, 0.0]


def test_lexical_features_see_a_negation_the_sentence_does_not_have() -> None:
    found = [candidate("Rollo agreed to swear fealty to King Charles III.")]
    rows = ab.lexical_features("Who did not swear fealty to King Charles III?", found, 0.6, 0.8)
    assert column(rows, "negation_unmatched") == [1.0]
    rows = ab.lexical_features("Who swore fealty to King Charles III?", found, 0.6, 0.8)
    assert column(rows, "negation_unmatched") == [0.0]


def test_the_numpy_head_gives_the_logits_of_the_torch_head_it_was_exported_from() -> None:
    torch = pytest.importorskip("torch")
    from tools.answerability_head import TorchHead, predict

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = TorchHead(8, len(ab.LEXICAL), hidden=4)

    def unit(n: int) -> np.ndarray:
        v = rng.normal(size=(n, 8)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    states = [
        PairStates(unit(n), unit(m), tuple((i, "word") for i in range(n)))
        for n, m in ((3, 5), (1, 7), (4, 2))
    ]
    lexical = rng.normal(size=(3, len(ab.LEXICAL))).astype(np.float32)
    scale = (np.zeros(len(ab.LEXICAL)), np.ones(len(ab.LEXICAL)))
    rows = [{"q": s.question, "c": s.context, "f": f, "y": 0.0} for s, f in zip(states, lexical, strict=True)]
    expected = predict(model, scale, rows)
    weights = TorchHead.export(model, scale) | {"platt_a": np.ones(1), "platt_b": np.zeros(1)}
    got = ab.AnswerabilityHead(weights).logits(states, lexical)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_the_shipped_weights_match_their_checksum() -> None:
    assert len(ab.WEIGHTS_SHA256) == 64
    head = ab.load_head()
    assert head.w["proj_w"].shape[1] % 4 == 0
    assert head.w["mu"].shape == (len(ab.LEXICAL),)


def test_weights_that_do_not_match_the_checksum_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(ab.weights_path().read_bytes()[:-1] + b"x")
    with pytest.raises(CitebotError, match="checksum"):
        ab.load_head(path)


def test_an_unreadable_weights_file_gets_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"not a weights file")
    with pytest.raises(CitebotError, match=r"weights\.safetensors"):
        ab.load_head(path, sha256="")
    with pytest.raises(CitebotError, match="cannot read"):
        ab.load_head(tmp_path / "missing.safetensors", sha256="")


def test_labels_follow_the_sure_threshold() -> None:
    assert ab.label_for(0.8, 0.6) == "sure"
    assert ab.label_for(0.6, 0.6) == "sure"
    assert ab.label_for(0.59, 0.6) == "unsure"
    assert ab.label_for(None, 0.6) is None


def test_only_sure_answers_turns_an_unsure_answer_into_an_abstention() -> None:
    from retrieval.models import Answer, Citation

    cite = Citation(1, "a", "T", None, "text", 0, 4, 1.0)
    unsure = Answer("q?", "An answer. [1]", False, (cite,), confidence=0.4, label="unsure")
    held = ab.withhold_unsure(unsure)
    assert held.abstained and not held.citations and held.label is None
    sure = Answer("q?", "An answer. [1]", False, (cite,), confidence=0.9, label="sure")
    assert ab.withhold_unsure(sure) is sure


@pytest.mark.model
def test_the_service_is_less_sure_of_a_trap_question_than_of_the_one_the_article_answers(
    settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> None:
    from retrieval.compose import build_service
    from retrieval.models import SourceDocument

    answer = settings.answer.model_copy(update={"answerability": True})  # off by default
    service = build_service(settings.model_copy(update={"answer": answer}), embedder=real_embedder)
    try:
        service.add_document(SourceDocument(NORMANS, "Normans", "test"))
        answered = service.ask("When did the identity of the Normans emerge?")
        assert not answered.abstained and "first half of the 10th century" in answered.answer
        assert answered.confidence is not None and answered.label in ("sure", "unsure")
        trap = service.ask("When did the Frankish identity emerge?")
        assert trap.abstained or (trap.confidence or 0.0) < answered.confidence
    finally:
        service.close()


def test_sure_confidence_below_min_confidence_is_refused() -> None:
    from pydantic import ValidationError

    from config.settings import AnswerSettings

    with pytest.raises(ValidationError, match="sure_confidence"):
        AnswerSettings(min_confidence=0.5, sure_confidence=0.4)
