"""Tests of the relation check that the LLM verifier runs on each kept sentence."""

from __future__ import annotations

import pytest

from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.relation import unsupported_words, word_alignments
from tests.fakes import HashEmbedder

PASSAGE = "Under their leader Rollo, the Norse agreed to swear fealty to King Charles III of West Francia."


@pytest.mark.model
def test_words_of_the_claim_absent_from_the_passage_are_aligned_and_scored(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    found = dict(
        word_alignments("Rollo refused to swear fealty to King Charles III.", PASSAGE, real_embedder)
    )
    assert set(found) == {"refused"}  # every other content word stands in the passage
    assert -1.0 <= found["refused"] <= 1.0


@pytest.mark.model
def test_a_word_is_unsupported_when_its_best_alignment_is_below_the_threshold(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    claim = "Rollo refused to swear fealty to King Charles III."
    assert unsupported_words(claim, PASSAGE, real_embedder, threshold=1.01) == ["refused"]
    assert unsupported_words(claim, PASSAGE, real_embedder, threshold=-1.01) == []
    assert (
        unsupported_words("Rollo agreed to swear fealty to King Charles III.", PASSAGE, real_embedder, 1.01)
        == []
    )


def test_an_embedder_that_cannot_read_pairs_drops_nothing() -> None:
    assert unsupported_words("Rollo refused to swear fealty.", PASSAGE, HashEmbedder(), threshold=1.01) == []
