"""The answerability cross-encoder: its shipped weights, its pairs, and ONNX Runtime against torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval import answerability as ab
from retrieval import crossencoder as ce
from retrieval.embedding import resolve_model
from retrieval.errors import CitebotError
from retrieval.onnx_embedding import ensure_export
from tests.conftest import EXPORT_DIR, SEED_TEXT
from tests.test_answerability import NORMANS

MODEL_DIR = Path(resolve_model("all-MiniLM-L6-v2"))
SENTENCES = [s.strip() + "." for s in NORMANS.split(". ") if s.strip()]
# (question, [(sentence, sentence before)]): answered, a trap (another name), accents and a
# sentence before past the pair limit (cut first), digits and punctuation in the question.
PAIRS = [
    ("When did the identity of the Normans emerge?", [(SENTENCES[2], SENTENCES[1]), (SENTENCES[0], "")]),
    ("When did the Frankish identity emerge?", [(SENTENCES[2], SENTENCES[1]), (SENTENCES[1], SENTENCES[0])]),
    ("Où est né Kim Jong Un, l'héritier?", [("Ünïcödé façade — naïve café.", SEED_TEXT[:3000])]),
    ("What is the train's top speed (km/h) in 2023?", [(SEED_TEXT[:400], ""), (SENTENCES[0], "")]),
]


def test_the_shipped_weights_match_their_checksum_and_hold_only_the_tuned_layers() -> None:
    assert len(ce.DELTA_SHA256) == 64
    delta = ce.read_delta()
    first = int(delta["first"][0])
    layers = {k.split(".")[3] for k in delta if k.startswith("bert.encoder.layer.")}
    assert layers == {str(i) for i in range(first, 6)} and first >= 1
    assert ce.delta_path().stat().st_size < 50 * 2**20


def test_weights_that_do_not_match_the_checksum_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(ce.delta_path().read_bytes()[:-1] + b"x")
    with pytest.raises(CitebotError, match="checksum"):
        ce.read_delta(path)


def test_an_unreadable_weights_file_gets_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"not a weights file")
    with pytest.raises(CitebotError, match=r"weights\.safetensors"):
        ce.read_delta(path, sha256="")
    with pytest.raises(CitebotError, match="cannot read"):
        ce.read_delta(tmp_path / "missing.safetensors", sha256="")


def test_the_sentence_before_is_cut_before_the_sentence() -> None:
    tokenizer = ce.pair_tokenizer(MODEL_DIR)
    feed = ce.encode_pairs(tokenizer, "Who rules?", [("Rollo rules Normandy.", SEED_TEXT[:3000])])
    assert feed is not None and feed["input_ids"].shape == (1, ce.MAX_LENGTH)
    text = tokenizer.decode(feed["input_ids"][0].tolist())
    assert text.startswith("who rules? rollo rules normandy.")


def test_a_question_that_fills_the_pair_is_not_read() -> None:
    tokenizer = ce.pair_tokenizer(MODEL_DIR)
    assert ce.encode_pairs(tokenizer, "why " * 130, [("A sentence.", "")]) is None


@pytest.fixture(scope="module")
def backends() -> tuple[ce.CrossEncoder, ce.CrossEncoder]:
    """The cross-encoder on ONNX Runtime (exported once into the shared test cache) and on torch."""
    delta = ce.read_delta()
    path = ensure_export(
        MODEL_DIR,
        EXPORT_DIR,
        "answerability-ce",
        module="retrieval.crossencoder_export",
        extra=(ce.delta_path(),),
    )
    return (
        ce.CrossEncoder(MODEL_DIR, delta, ce.onnx_forward(path, 1)),
        ce.CrossEncoder(MODEL_DIR, delta, ce.torch_forward(MODEL_DIR, delta, 1)),
    )


@pytest.mark.model
@pytest.mark.parametrize(("question", "contexts"), PAIRS, ids=[q[:24] for q, _ in PAIRS])
def test_onnx_and_torch_give_the_same_scores(
    backends: tuple[ce.CrossEncoder, ce.CrossEncoder], question: str, contexts: list[tuple[str, str]]
) -> None:
    onnx, torch = backends
    got, want = onnx.logits(question, contexts), torch.logits(question, contexts)
    assert got is not None and want is not None and got.shape == (len(contexts),)
    assert np.abs(got - want).max() <= 1e-3
    # Batched with padding, each pair scores as it does alone.
    alone = [onnx.logits(question, [c]) for c in contexts]
    assert np.abs(got - np.concatenate([a for a in alone if a is not None])).max() <= 1e-3


@pytest.mark.model
def test_it_answers_the_question_the_sentence_answers_and_doubts_the_trap(
    backends: tuple[ce.CrossEncoder, ce.CrossEncoder],
) -> None:
    onnx, _ = backends
    answered = onnx.logits("When did the identity of the Normans emerge?", [(SENTENCES[2], SENTENCES[1])])
    trap = onnx.logits("When did the Frankish identity emerge?", [(SENTENCES[2], SENTENCES[1])])
    other = onnx.logits("When did the identity of the Normans emerge?", [(SENTENCES[0], "")])
    assert answered is not None and trap is not None and other is not None
    assert onnx.calibrated(float(answered[0])) > onnx.calibrated(float(trap[0]))
    assert answered[0] > other[0]


@pytest.mark.model
def test_the_check_reads_all_candidates_of_an_ask_in_one_pass(
    backends: tuple[ce.CrossEncoder, ce.CrossEncoder],
) -> None:
    from retrieval.answer import rank_sentences
    from retrieval.models import Passage

    onnx, _ = backends
    calls: list[int] = []
    inner = onnx._forward

    def counted(feed: dict[str, np.ndarray]) -> np.ndarray:
        calls.append(len(feed["input_ids"]))
        return np.asarray(inner(feed))

    check = ab.AnswerabilityCheck(ce.CrossEncoder(MODEL_DIR, ce.read_delta(), counted), ab.CANDIDATES)
    pool = [Passage("n-0", "n", "Normans", None, NORMANS, 0, len(NORMANS), 1.0)]
    question = "When did the identity of the Normans emerge?"
    ranked = rank_sentences(question, pool, None, None)
    verdict = check(question, ranked, pool)
    assert verdict is not None and calls == [min(ab.CANDIDATES, len(SENTENCES))]
    chosen, confidence = verdict
    assert "first half of the 10th century" in ranked[chosen].text and 0.0 < confidence < 1.0
