"""Chunking: exact spans, whole sentences, bounded size."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.chunking import chunk_text
from retrieval.text import sentence_spans
from tests.conftest import SEED_TEXT


def test_every_chunk_is_the_exact_slice_of_its_span() -> None:
    for chunk in chunk_text(SEED_TEXT, 600, 100):
        assert SEED_TEXT[chunk.start : chunk.end] == chunk.text


def test_chunks_respect_the_size_limit() -> None:
    assert all(len(c.text) <= 300 for c in chunk_text(SEED_TEXT, 300, 50))


def test_chunks_never_cut_inside_a_sentence() -> None:
    starts = {s for s, _ in sentence_spans(SEED_TEXT)}
    ends = {e for _, e in sentence_spans(SEED_TEXT)}
    for chunk in chunk_text(SEED_TEXT, 400, 80):
        assert chunk.start in starts
        assert chunk.end in ends


def test_neighbouring_chunks_overlap_by_whole_sentences() -> None:
    chunks = chunk_text(SEED_TEXT, 600, 200)
    assert any(b.start < a.end for a, b in itertools.pairwise(chunks))


def test_a_sentence_longer_than_the_limit_is_split_at_spaces() -> None:
    text = "word " * 300 + "end."
    chunks = chunk_text(text, 200, 20)
    assert len(chunks) > 1
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("Some text.", 100, 100)


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text("   \n\n  ", 600, 100) == []


def test_abbreviations_do_not_end_sentences() -> None:
    text = "Dr. Smith met Mr. Jones at 3 p.m. on Monday. They talked."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Dr. Smith met Mr. Jones at 3 p.m. on Monday.",
        "They talked.",
    ]


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000),
    size=st.integers(min_value=50, max_value=900),
    data=st.data(),
)
def test_spans_are_exact_and_cover_every_visible_character(text: str, size: int, data: st.DataObject) -> None:
    overlap = data.draw(st.integers(min_value=0, max_value=size - 1))
    chunks = chunk_text(text, size, overlap)
    covered = [False] * len(text)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= size
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
