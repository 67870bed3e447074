"""Sentence-aware chunking with exact character spans into the article text."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.text import sentence_spans

# Raise when the same text and settings would be cut differently (a change to sentence splitting):
# an article stored again after that gets new chunk ids, so no process keeps serving the old bounds.
CUTTING = 1


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: `article_text[start:end] == text` always."""

    index: int
    start: int
    end: int
    text: str


def chunk_text(text: str, size: int = 600, overlap: int = 100) -> list[Chunk]:
    """Cut text into chunks of whole sentences, at most `size` characters, sharing ~`overlap`."""
    if overlap >= size:
        raise ValueError("overlap must be smaller than size")
    pieces = [p for s, e in sentence_spans(text) for p in _split_long(text, s, e, size)]
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and pieces[j + 1][1] - pieces[i][0] <= size:
            j += 1
        start, end = pieces[i][0], pieces[j][1]
        chunks.append(Chunk(len(chunks), start, end, text[start:end]))
        if j + 1 >= len(pieces):
            break
        # Step back over trailing sentences that fit in the overlap, but always advance.
        nxt = j + 1
        while nxt - 1 > i and end - pieces[nxt - 1][0] <= overlap:
            nxt -= 1
        i = nxt
    return chunks


def layout_key(size: int, overlap: int) -> str:
    """Return what decides where a text's chunks fall, besides the text itself."""
    return f"{size}:{overlap}:{CUTTING}"


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Split one over-long sentence at white space (or hard, if it has none) into spans."""
    spans: list[tuple[int, int]] = []
    while end - start > size:
        cut = text.rfind(" ", start + 1, start + size + 1)
        if cut <= start:
            cut = start + size
        spans.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        spans.append((start, end))
    return spans
