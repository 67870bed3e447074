"""Answerability: does a candidate sentence, read together with the question, answer it?

The ranker in retrieval/answer.py scores sentences by what they share with the question. A
question written to look answerable (same entities, another relation, a negation, a swapped
role) shares as much. This check reads the question with the chosen sentence (and the sentence before
it) in one pass of a cross-encoder (retrieval/crossencoder.py: the packaged MiniLM with its top
layers fine-tuned on dev splits only, docs/answerability.md) and gives the calibrated
probability that the sentence answers the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from retrieval.text import STOPWORDS

if TYPE_CHECKING:
    from retrieval.answer import _Sentence
    from retrieval.crossencoder import CrossEncoder
    from retrieval.embedding import PairStates
    from retrieval.models import Answer, Passage

CANDIDATES = 3  # sentences per question the cross-encoder is trained on, in the ranker's order


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer the question, as the ranker saw it."""

    text: str
    before: str  # the sentence before it in its passage ("" at the passage's start)
    title: str


def content_rows(states: PairStates) -> list[int]:
    """Return the question-token rows of the content words (first token of each, stop words out)."""
    return [n for n, word in states.words if word.lower() not in STOPWORDS and word[:1].isalnum()]


def candidates_from(
    ranked: Sequence[_Sentence], pool: Sequence[Passage], limit: int = CANDIDATES
) -> tuple[list[int], list[Candidate]]:
    """Return the ranking indexes and Candidates of the first `limit` distinct sentences."""
    index, out, seen = [], [], set()
    for i, s in enumerate(ranked):
        if s.text in seen:
            continue  # chunks overlap: the same sentence from the next chunk
        seen.add(s.text)
        before = max(
            (b for b in ranked if b.passage == s.passage and b.end <= s.start),
            key=lambda b: b.end,
            default=None,
        )
        title = pool[s.passage].title
        out.append(Candidate(s.text, before.text if before else "", title))
        index.append(i)
        if len(out) == limit:
            break
    return index, out


class AnswerabilityCheck:
    """The Judge of retrieval/answer.py: picks the sentence most likely to answer, and how likely."""

    def __init__(self, encoder: CrossEncoder, candidates: int = 1) -> None:
        self.encoder = encoder
        # 1: judge the ranker's first sentence only. On dev the tuned model picks the answering
        # sentence less often than the ranker (docs/answerability.md), so it does not rerank.
        self.candidates = candidates

    def __call__(
        self, question: str, ranked: Sequence[_Sentence], pool: Sequence[Passage]
    ) -> tuple[int, float] | None:
        """Return (index in the ranking of the sentence to show, probability it answers), or None."""
        index, found = candidates_from(ranked, pool, self.candidates)
        if not found:
            return None
        logits = self.encoder.logits(question, [(c.text, c.before) for c in found])
        if logits is None:
            return None  # the question alone fills a pair: the gate alone decides
        best = int(np.argmax(logits))
        return index[best], self.encoder.calibrated(float(logits[best]))


def label_for(confidence: float | None, sure: float) -> Literal["sure", "unsure"] | None:
    """Return how an answer is marked: sure, unsure (shown as "not sure"), or None without a check."""
    if confidence is None:
        return None
    return "sure" if confidence >= sure else "unsure"


def withhold_unsure(answer: Answer) -> Answer:
    """Return the answer, or an abstention in its place when it is marked unsure ("only sure answers")."""
    from retrieval.answer import NOT_FOUND

    if answer.label != "unsure":
        return answer
    return replace(answer, answer=NOT_FOUND, abstained=True, citations=(), label=None)
