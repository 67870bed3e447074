"""Extractive answers: the sentence(s) of the top passages that answer the question."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from config.settings import AnswerSettings
from retrieval.answertype import STRONG, asked_type, cue_by
from retrieval.chunkfacts import SentenceFacts, passage_facts
from retrieval.matching import PRONOUNS, QuestionPhrasing, question_terms
from retrieval.models import Citation, Passage
from retrieval.text import terms

NOT_FOUND = "I couldn't find that in the articles."


@dataclass(frozen=True)
class _Sentence:
    passage: int
    start: int  # offset in the article
    end: int
    text: str
    score: float
    overlap: float
    cosine: float
    typed: bool = False  # holds the asked answer type in its own form (a speed, a distance...)
    context: float = 0.0  # share of question terms in the sentences beside it


@dataclass(frozen=True)
class SentenceFeatures:
    """One sentence of the passages, where it stands, and what the ranker sees of it."""

    passage: int  # index in the passages
    start: int  # offset in the article
    end: int
    text: str
    values: dict[str, float]
    heading: bool = False  # reads as a heading or caption (never the answer)


@dataclass(frozen=True)
class Extracted:
    """The chosen answer and the citations that support it."""

    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    overlap: float
    confidence: float | None = None  # the answerability check's probability, when it ran


# Given the question, the ranked sentences and the passages, the answerability check returns
# which sentence to show (an index into the ranking) and the probability that it answers.
Judge = Callable[[str, Sequence["_Sentence"], Sequence[Passage]], tuple[int, float] | None]


def coverage(question: str, passages: Sequence[Passage]) -> float:
    """Return the largest weighted share of question terms that one passage contains.

    Terms are weighted by their rarity among the passages, so a term every passage has counts little.
    """
    asked = question_terms(question)
    q_terms = asked.terms
    pools = [asked.found_in(passage_facts(p.text).whole) for p in passages]
    df = {t: sum(1 for ts in pools if t in ts) for t in q_terms}
    weight = {t: math.log(1 + (len(pools) + 1) / (df[t] + 0.5)) for t in q_terms}
    total = sum(weight.values())
    if not total:
        return 0.0
    return max((sum(weight[t] for t in weight if t in ts) / total for ts in pools), default=0.0)


# Weights of a conditional-logit sentence ranker fitted on the dev questions of xquad-articles and
# squad2-dev only (tools/calibrate_answers.py --more ... --fit-only; docs/quality.md).
WEIGHTS = {
    "overlap": 6.67,
    "prev": 1.43,
    "next": 1.49,
    "cue": 1.83,
    "rank0": -0.18,
    "rank1": -0.02,
    "pscore": 3.98,
    "dense": -0.95,
    "bigram": -1.09,
    "novel": 0.98,
    "length": -0.28,
    "cosine": 13.25,
    "phrase": -0.6,
    "order": 2.24,
    "distinct": 3.43,
    "antecedent": 2.7,
}
ANSWER_DEPTH = 3  # answers come from the first 3 passages whatever k is, so k only adds citations
FEATURES = (
    "overlap",
    "prev",
    "next",
    "cue",
    "rank0",
    "rank1",
    "pscore",
    "dense",
    "bigram",
    "novel",
    "length",
    "cosine",
    "phrase",
    "order",
    "distinct",
    "antecedent",
)

_WEIGHTED = tuple((name, WEIGHTS[name]) for name in FEATURES)


def _bigrams(ts: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(ts))


def sentence_cosines(
    passage: Passage,
    spans: Sequence[tuple[int, int]],
    question_vector: np.ndarray | None,
    vectors: np.ndarray | None,
) -> list[float]:
    """Return each sentence's cosine with the question.

    A sentence without a stored vector (stored by a model that gives none, or past the model's
    token limit) falls back on its passage's cosine.
    """
    fallback = passage.dense or 0.0
    if question_vector is None or vectors is None or len(vectors) != len(spans):
        return [fallback] * len(spans)
    cosines = vectors @ np.asarray(question_vector, dtype=np.float32)
    present = np.abs(vectors).sum(axis=1) > 0
    return [c if ok else fallback for c, ok in zip(cosines.tolist(), present.tolist(), strict=True)]


def _split(
    passages: Sequence[Passage],
    question_vector: np.ndarray | None,
    sentence_vectors: Mapping[str, np.ndarray] | None,
) -> tuple[list[tuple[int, int, int, str, list[str]]], list[float], list[SentenceFacts]]:
    """Return the passages' sentences (passage, start, end, text, terms), their cosines and facts.

    The facts' stems keep the stop words (for phrasing); the terms are the stems of the other words.
    """
    raw: list[tuple[int, int, int, str, list[str]]] = []
    cosine: list[float] = []
    facts: list[SentenceFacts] = []
    for p_index, passage in enumerate(passages):
        read = passage_facts(passage.text).sentences
        spans = [(s.start, s.end) for s in read]
        stored = (sentence_vectors or {}).get(passage.chunk_id)
        cosine += sentence_cosines(passage, spans, question_vector, stored)
        facts += read
        raw += [(p_index, passage.start + s.start, passage.start + s.end, s.text, s.terms) for s in read]
    return raw, cosine, facts


def _antecedent_gain(
    raw: Sequence[tuple[int, int, int, str, list[str]]],
    facts: Sequence[SentenceFacts],
    passages: Sequence[Passage],
    found: Sequence[set[str]],
    weight: Mapping[str, float],
) -> list[float]:
    """Return, for each sentence whose subject points back, the question terms only the sentence before has.

    "The convoy crossed the border…" names the train of the sentence before it; that sentence may
    sit in another of the passages (chunk edges), so it is found by its offsets in the article. The
    gain is the weighted share of question terms the sentence before holds and this one lacks.
    """
    total = sum(weight.values()) or 1.0
    ending: dict[tuple[str, int], int] = {}
    for j, (p_index, _, end, *_) in enumerate(raw):
        ending.setdefault((passages[p_index].article_id, end), j)
    gains = []
    for i, (p_index, start, *_) in enumerate(raw):
        article = passages[p_index].article_id
        before = next(
            (ending[(article, start - gap)] for gap in range(4) if (article, start - gap) in ending), None
        )
        held = found[before] - found[i] if before is not None and facts[i].refers_back else set()
        gains.append(sum(weight[t] for t in held) / total)
    return gains


def features(
    question: str,
    passages: Sequence[Passage],
    question_vector: np.ndarray | None = None,
    sentence_vectors: Mapping[str, np.ndarray] | None = None,
    type_from: str | None = None,
) -> list[SentenceFeatures]:
    """Return the features of every sentence of the passages, in passage order.

    The answer type is read from type_from when given (a follow-up's own words), else from the question.
    """
    q_list = terms(question)
    matcher = question_terms(question)
    phrasing = QuestionPhrasing(question)
    q_terms = matcher.terms
    q_bigrams = _bigrams(q_list)
    asked = asked_type(type_from or question)
    raw, cosine, facts = _split(passages, question_vector, sentence_vectors)
    found = [matcher.found_in(f.facts) for f in facts]
    if not raw or not q_terms:
        return []
    df = {t: sum(1 for held in found if t in held) for t in q_terms}
    weight = {t: math.log(1 + (len(raw) + 1) / (df[t] + 0.5)) for t in q_terms}
    total = sum(weight.values())
    share = [sum(weight[t] for t in held) / total for held in found]
    top_score = max((p.score for p in passages), default=0.0) or 1.0
    top_dense = max((p.dense or 0.0 for p in passages), default=0.0)
    phrase, distinct = phrasing.shares_of([f.pairs for f in facts])
    antecedent = _antecedent_gain(raw, facts, passages, found, weight)
    out = []
    for i, (p_index, start, end, text, ts) in enumerate(raw):
        same_prev = i > 0 and raw[i - 1][0] == p_index
        same_next = i + 1 < len(raw) and raw[i + 1][0] == p_index
        f = {
            "overlap": share[i],
            "prev": share[i - 1] if same_prev else 0.0,
            "next": share[i + 1] if same_next else 0.0,
            "cue": cue_by(asked, facts[i].facts.matches),
            "rank0": float(p_index == 0),
            "rank1": float(p_index == 1),
            "pscore": passages[p_index].score / top_score,
            "dense": (passages[p_index].dense or 0.0) - top_dense,
            "bigram": len(q_bigrams & facts[i].bigrams) / len(q_bigrams) if q_bigrams else 0.0,
            "novel": sum(1 for t in ts if t not in q_terms) / len(ts) if ts else 0.0,
            "length": math.log(1 + len(ts)),
            "cosine": cosine[i],
            "phrase": phrase[i],
            "order": phrasing.in_order_of(facts[i].masks),
            "distinct": distinct[i],
            "antecedent": antecedent[i],
        }
        out.append(SentenceFeatures(p_index, start, end, text, f, facts[i].heading))
    return out


def rank_sentences(
    question: str,
    passages: Sequence[Passage],
    question_vector: np.ndarray | None = None,
    sentence_vectors: Mapping[str, np.ndarray] | None = None,
    type_from: str | None = None,
) -> list[_Sentence]:
    """Return the sentences of the passages, best answer first."""
    out = []
    for s in features(question, passages, question_vector, sentence_vectors, type_from):
        if s.heading:
            continue  # a heading or caption is context for the next sentence, never the answer
        f = s.values
        score = sum(weight * f[name] for name, weight in _WEIGHTED)
        typed = f["cue"] >= STRONG
        out.append(
            _Sentence(
                s.passage,
                s.start,
                s.end,
                s.text,
                score,
                f["overlap"],
                f["cosine"],
                typed,
                max(f["prev"], f["next"]),
            )
        )
    return sorted(out, key=lambda s: s.score, reverse=True)


@dataclass(frozen=True)
class Gate:
    """When the passages support an answer: the evidence, as shares of what alone would do.

    Answer when cosine/min_dense + sentence overlap/min_overlap + passage coverage/min_coverage
    + sentence cosine/min_sentence_cosine >= 1. Cosine is the best passage's; sentence overlap
    and sentence cosine are the answer sentence's weighted share of question terms and its cosine
    with the question; passage coverage is the best passage's share of question terms. Without
    cosines (BM25-only search) the lexical terms alone must reach a quarter of the bar.
    """

    min_dense: float = 1.2
    min_overlap: float = 3.0
    min_coverage: float = 2.0
    min_sentence_cosine: float = 1.0

    def supports(
        self, pool: Sequence[Passage], overlap: float, covered: float, sentence_cosine: float
    ) -> bool:
        lexical = overlap / self.min_overlap + covered / self.min_coverage
        dense = [p.dense for p in pool if p.dense is not None]
        if not dense:
            return lexical >= 0.25
        return max(dense) / self.min_dense + sentence_cosine / self.min_sentence_cosine + lexical >= 1.0


def _support(question: str, sentence: _Sentence, pool: Sequence[Passage]) -> float:
    """Return the lexical support of the answer sentence: its own share of question terms.

    A sentence that states the asked answer type in its own form ("about 60 km/h" for "how fast")
    may name its subject only in the sentences around it ("the convoy" for "Kim's train"); it
    borrows half the support of its context or of its passage.
    """
    if sentence.overlap or not sentence.typed:
        return sentence.overlap
    return 0.5 * max(sentence.context, coverage(question, [pool[sentence.passage]]))


def _with_context(ranked: Sequence[_Sentence], max_sentences: int, second_ratio: float) -> list[_Sentence]:
    """Return the answer sentence, and a second one when it is needed.

    The second is the sentence before the answer when the answer opens with a pronoun, or else
    the runner-up when the ranker is unsure: its probability is at least second_ratio of the top's.
    """
    first = ranked[0]
    if max_sentences < 2:
        return [first]
    if first.text.split(maxsplit=1)[0].lower() in PRONOUNS:
        before = [s for s in ranked if s.passage == first.passage and 0 <= first.start - s.end <= 2]
        if before:
            return [before[0], first]
    # Chunks overlap, so the runner-up may be the answer sentence again, from the next chunk.
    runner = next((s for s in ranked[1:] if s.text != first.text), None)
    if second_ratio > 0 and runner is not None and first.score - runner.score <= -math.log(second_ratio):
        return [first, runner]
    return [first]


def extract_answer(
    question: str,
    passages: Sequence[Passage],
    *,
    k: int,
    question_vector: np.ndarray | None = None,
    sentence_vectors: Mapping[str, np.ndarray] | None = None,
    max_sentences: int = 2,
    gate: Gate = Gate(),  # frozen, so one shared default is safe
    second_ratio: float = AnswerSettings.model_fields["second_sentence_ratio"].default,
    depth: int = ANSWER_DEPTH,
    context: str | None = None,
    judge: Judge | None = None,
    min_confidence: float = 0.0,
) -> Extracted:
    """Choose answer sentences from passages, number the citations, or abstain.

    A follow-up's context (the question before) adds its terms; the answer type stays the follow-up's.
    With a judge (the answerability check), its choice of sentence is shown and its probability
    must reach min_confidence as well as the gate's bar.
    """
    top = list(passages[:k])
    pool = top[: min(k, depth)]
    asked = question
    question = f"{context} {question}" if context else question
    sentences = rank_sentences(question, pool, question_vector, sentence_vectors, asked)
    overlap = _support(question, sentences[0], pool) if sentences else 0.0
    cosine = sentences[0].cosine if sentences else 0.0
    if not overlap or not gate.supports(pool, overlap, coverage(question, pool), cosine):
        return Extracted(NOT_FOUND, True, (), overlap)
    verdict = judge(asked, sentences, pool) if judge is not None else None
    confidence = None
    if verdict is not None:
        chosen_index, confidence = verdict
        if confidence < min_confidence:
            return Extracted(NOT_FOUND, True, (), overlap, confidence)
        sentences = [sentences[chosen_index], *sentences[:chosen_index], *sentences[chosen_index + 1 :]]
    chosen = _with_context(sentences, max_sentences, second_ratio)
    order = [s.passage for s in chosen]
    order += [i for i in range(len(top)) if i not in order]
    number = {p: n for n, p in enumerate(dict.fromkeys(order), start=1)}
    parts = [
        f"{s.text} [{number[s.passage]}]" for s in sorted(chosen, key=lambda s: (number[s.passage], s.start))
    ]
    citations = []
    for p_index in dict.fromkeys(order):
        p = top[p_index]
        marks = tuple((s.start - p.start, s.end - p.start) for s in chosen if s.passage == p_index)
        citations.append(
            Citation(number[p_index], p.article_id, p.title, p.url, p.text, p.start, p.end, p.score, marks)
        )
    return Extracted(" ".join(parts), False, tuple(citations), overlap, confidence)
