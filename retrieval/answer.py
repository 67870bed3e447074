"""Extractive answers: the sentence(s) of the top passages that answer the question."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.models import Citation, Passage
from retrieval.text import sentence_spans, terms

NOT_FOUND = "I couldn't find that in the articles."

_NUMBER = re.compile(r"\d")
_SPEED = re.compile(r"\d[\d,.]*\s*(?:km/h|kph|mph|km per hour|kilomet\w+ (?:an|per) hour|miles (?:an|per) hour|knots)", re.I)
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_MONTH = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|century|decade)\b"
)
_PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")


@dataclass(frozen=True)
class _Sentence:
    passage: int
    start: int  # offset in the article
    end: int
    text: str
    score: float
    overlap: float


@dataclass(frozen=True)
class Extracted:
    """The chosen answer and the citations that support it."""

    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    overlap: float


def _cue(question: str, sentence: str) -> float:
    """Score how well a sentence holds the kind of fact the question asks for."""
    q = question.lower()
    if re.search(r"\bhow (fast|quick|quickly)\b|\bspeed\b", q):
        return 1.0 if _SPEED.search(sentence) else (0.3 if _NUMBER.search(sentence) else 0.0)
    if re.search(r"\bhow (many|much|long|far|old|tall|big|large|high|often)\b|\bwhat (percentage|number)\b", q):
        return 1.0 if _NUMBER.search(sentence) else 0.0
    if re.search(r"\bwhen\b|\bwhat (year|date|day|month|time)\b", q):
        return 1.0 if (_YEAR.search(sentence) or _MONTH.search(sentence)) else 0.0
    if re.search(r"\bwho\b|\bwhose\b|\bwhom\b", q):
        return 1.0 if _PROPER.search(sentence) else 0.0
    if re.search(r"\bwhere\b", q):
        return 1.0 if re.search(r"\b(in|at|from|to|near)\s+[A-Z]", sentence) else 0.0
    return 0.0


def _weights(question: str, passages: Sequence[Passage]) -> tuple[dict[str, float], list[set[str]]]:
    """Weight each question term by its rarity among the passages' sentences."""
    q_terms = set(terms(question))
    pools = [set(terms(p.text)) for p in passages]
    df = {t: sum(1 for ts in pools if t in ts) for t in q_terms}
    return {t: math.log(1 + (len(pools) + 1) / (df[t] + 0.5)) for t in q_terms}, pools


def coverage(question: str, passages: Sequence[Passage]) -> float:
    """Return the largest weighted share of question terms that one passage contains."""
    weight, pools = _weights(question, passages)
    total = sum(weight.values())
    if not total:
        return 0.0
    return max((sum(weight[t] for t in weight if t in ts) / total for ts in pools), default=0.0)


def _candidates(question: str, passages: Sequence[Passage]) -> list[_Sentence]:
    q_terms = set(terms(question))
    raw: list[tuple[int, int, int, str, set[str]]] = []
    for p_index, passage in enumerate(passages):
        for s, e in sentence_spans(passage.text):
            text = passage.text[s:e]
            raw.append((p_index, passage.start + s, passage.start + e, text, set(terms(text))))
    if not raw or not q_terms:
        return []
    df = {t: sum(1 for *_, ts in raw if t in ts) for t in q_terms}
    weight = {t: math.log(1 + (len(raw) + 1) / (df[t] + 0.5)) for t in q_terms}
    total = sum(weight.values())
    out = []
    for p_index, start, end, text, ts in raw:
        overlap = sum(weight[t] for t in q_terms & ts) / total
        prior = 0.15 / (1 + p_index)
        score = overlap + 0.35 * _cue(question, text) * (overlap > 0) + prior
        out.append(_Sentence(p_index, start, end, text, score, overlap))
    return out


def extract_answer(
    question: str,
    passages: Sequence[Passage],
    *,
    k: int,
    max_sentences: int = 2,
    min_dense: float = 0.25,
    min_overlap: float = 0.2,
) -> Extracted:
    """Choose answer sentences from passages, number the citations, or abstain."""
    top = list(passages[:k])
    best_dense = max((p.dense for p in top if p.dense is not None), default=0.0)
    sentences = sorted(_candidates(question, top), key=lambda s: s.score, reverse=True)
    support = coverage(question, top)
    if not sentences or best_dense < min_dense or support < min_overlap or sentences[0].overlap == 0:
        return Extracted(NOT_FOUND, True, (), support)
    chosen = [sentences[0]]
    # A second sentence only when it continues the first in the same passage.
    first = chosen[0]
    for s in sentences[1:]:
        if len(chosen) >= max_sentences:
            break
        follows = s.passage == first.passage and 0 <= s.start - first.end <= 2
        if follows and s.score >= 0.8 * first.score:
            chosen.append(s)
    order = [s.passage for s in chosen]
    order += [i for i in range(len(top)) if i not in order]
    number = {p: n for n, p in enumerate(dict.fromkeys(order), start=1)}
    parts = [f"{s.text} [{number[s.passage]}]" for s in sorted(chosen, key=lambda s: (number[s.passage], s.start))]
    citations = []
    for p_index in dict.fromkeys(order):
        p = top[p_index]
        marks = tuple(
            (s.start - p.start, s.end - p.start) for s in chosen if s.passage == p_index
        )
        citations.append(
            Citation(number[p_index], p.article_id, p.title, p.url, p.text, p.start, p.end, p.score, marks)
        )
    return Extracted(" ".join(parts), False, tuple(citations), support)
