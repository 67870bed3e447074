"""Does a cited passage state a claim's relation, not only its names and numbers?

The LLM verifier (retrieval/verify.py) drops a sentence whose numbers or names are not in its
cited passage. A sentence can keep every name and still change what links them ("Alexius
ruined X's plans" against a passage where Alexius stopped X). This check reads the claim and the
passage window that backs it together in one pass of the embedding model (as the answerability
check does) and finds the claim's content words that the window neither contains nor aligns with:
a word whose best token cosine in the window is below RELATION_THRESHOLD is unsupported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.answerability import content_rows
from retrieval.text import terms

if TYPE_CHECKING:
    from retrieval.embedding import Embedder

# Calibrated on squad2-dev dev (tools/calibrate_relation.py): see docs/llm.md.
RELATION_THRESHOLD = 0.25


def unsupported_words(
    claim: str, window: str, embedder: Embedder, threshold: float = RELATION_THRESHOLD
) -> list[str]:
    """Return the claim's content words that the window neither contains nor aligns with."""
    return [word for word, best in word_alignments(claim, window, embedder) if best < threshold]


def word_alignments(claim: str, window: str, embedder: Embedder) -> list[tuple[str, float]]:
    """Return each content word of the claim absent from the window, with its best token cosine there."""
    states = embedder.pair_states(claim, [window])
    if not states or not len(states[0].context):
        return []
    s = states[0]
    present = set(terms(window))
    rows = set(content_rows(s))
    return [
        (word, float((s.context @ s.question[row]).max()))
        for row, word in s.words
        if row in rows and set(terms(word)) and not set(terms(word)) <= present
    ]
