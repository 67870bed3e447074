"""Answerability: does a candidate sentence, read together with the question, answer it?

The ranker in retrieval/answer.py scores sentences by what they share with the question. A
question written to look answerable (same entities, another relation, a negation, a swapped
role) shares as much. This check reads the question and each of the first candidate sentences
(with the sentence before it) together in one pass of the embedding model, aligns every content
word of the question with the sentence's tokens, and gives a calibrated probability that the
sentence answers the question. The weights are a small head trained by
tools/train_answerability.py on dev splits only (see docs/quality.md).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from retrieval.errors import CitebotError
from retrieval.text import STOPWORDS, terms, words

if TYPE_CHECKING:
    from retrieval.answer import _Sentence
    from retrieval.embedding import Embedder, PairStates
    from retrieval.models import Answer, Passage

WEIGHTS_FILE = "answerability.safetensors"
# sha256 of the shipped weights; tools/train_answerability.py prints it for a new build.
WEIGHTS_SHA256 = "65de671a17aa236f2a0d26ba00b92edce35db0b091b8f8f61f9ef7e21e32ee62"
CANDIDATES = 3  # sentences read with the question, in the ranker's order
_NEGATION = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nor",
        "neither",
        "without",
        "cannot",
        "n't",
        "didn't",
        "wasn't",
        "isn't",
        "don't",
        "doesn't",
        "weren't",
        "aren't",
        "hasn't",
        "haven't",
        "hadn't",
        "won't",
        "couldn't",
        "shouldn't",
        "wouldn't",
    ]
)
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_PROPER = re.compile(r"\b[A-Z][\w'-]+")
LEXICAL = (
    "rank_gap",
    "first",
    "overlap",
    "context_overlap",
    "cosine",
    "missing_weight",
    "missing_weight_sentence",
    "missing_terms",
    "missing_names",
    "any_missing_name",
    "missing_numbers",
    "question_negated",
    "negation_unmatched",
    "sentence_negated",
    "cue",
    "novel",
    "dense",
    "coverage",
    "question_terms",
    "absent_terms",
)


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer the question, as the ranker saw it."""

    text: str
    before: str  # the sentence before it in its passage ("" at the passage's start)
    title: str
    score: float  # the ranker's score
    overlap: float
    cosine: float
    cue: float

    @property
    def context(self) -> str:
        """Return the text read with the question: the sentence before, then the sentence."""
        return f"{self.before} {self.text}".strip()


def lexical_features(
    question: str, candidates: Sequence[Candidate], dense: float, coverage: float
) -> np.ndarray:
    """Return one row of LEXICAL features per candidate: what of the question each one lacks."""
    q_terms = list(dict.fromkeys(terms(question)))
    q_set = set(q_terms)
    pools = [set(terms(c.text)) for c in candidates]
    df = {t: sum(t in p for p in pools) for t in q_terms}
    weight = {t: math.log(1 + (len(pools) + 1) / (df[t] + 0.5)) for t in q_terms}
    total = sum(weight.values()) or 1.0
    names = {
        t
        for j, tok in enumerate(question.split())
        if j > 0 and (m := _PROPER.match(tok))
        for t in terms(m[0])
    }
    numbers = set(_NUMBER.findall(question))
    q_negated = any(w in _NEGATION for w in words(question))
    top = candidates[0].score if candidates else 0.0
    rows = []
    for i, (c, sentence) in enumerate(zip(candidates, pools, strict=True)):
        context = sentence | set(terms(c.before)) | set(terms(c.title))
        missing = [t for t in q_terms if t not in context]
        missing_here = [t for t in q_terms if t not in sentence]
        missing_names = sum(1 for t in names if t not in context)
        s_negated = any(w in _NEGATION for w in words(c.text))
        s_terms = terms(c.text)
        rows.append(
            [
                c.score - top,
                float(i == 0),
                c.overlap,
                sum(weight[t] for t in q_terms if t in context) / total,
                c.cosine,
                max((weight[t] for t in missing), default=0.0),
                max((weight[t] for t in missing_here), default=0.0),
                len(missing),
                missing_names,
                float(missing_names > 0),
                sum(1 for n in numbers if n not in c.context),
                float(q_negated),
                float(q_negated and not s_negated),
                float(s_negated and not q_negated),
                c.cue,
                sum(1 for t in s_terms if t not in q_set) / len(s_terms) if s_terms else 0.0,
                dense,
                coverage,
                len(q_terms),
                sum(1 for t in missing if df[t] == 0),
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(candidates), len(LEXICAL))


def content_rows(states: PairStates) -> list[int]:
    """Return the question-token rows of the content words (first token of each, stop words out)."""
    return [n for n, word in states.words if word.lower() not in STOPWORDS and word[:1].isalnum()]


class AnswerabilityHead:
    """The trained head: question-to-sentence token alignment plus lexical features -> a logit."""

    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self.w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.tau = float(self.w["tau"][0])

    def logits(self, states: Sequence[PairStates], lexical: np.ndarray) -> np.ndarray:
        """Return one logit per (question, candidate) pair: log-odds that it answers."""
        out = np.zeros(len(states), dtype=np.float32)
        features = (lexical - self.w["mu"]) / self.w["sd"]
        for i, s in enumerate(states):
            rows = content_rows(s) or list(range(len(s.question)))
            q, c = s.question[rows], s.context
            if not len(c) or not len(q):
                c = np.zeros((1, q.shape[1] if q.ndim == 2 else 384), dtype=np.float32)
            sims = q @ c.T
            att = np.exp((sims - sims.max(axis=1, keepdims=True)) / self.tau)
            aligned = (att / att.sum(axis=1, keepdims=True)) @ c
            hidden = np.maximum(
                np.concatenate([q, aligned, q - aligned, q * aligned], axis=1) @ self.w["proj_w"].T
                + self.w["proj_b"],
                0.0,
            )
            best = np.sort(sims.max(axis=1))
            second = best[1] if len(best) > 1 else 2.0
            pooled = np.concatenate(
                [hidden.mean(axis=0), hidden.max(axis=0), [best[0], best.mean(), second], features[i]]
            )
            out[i] = float(pooled @ self.w["out_w"][0] + self.w["out_b"][0])
        return out

    def probabilities(self, states: Sequence[PairStates], lexical: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities (Platt scaling fitted out of fold on dev)."""
        z = self.logits(states, lexical) * float(self.w["platt_a"][0]) + float(self.w["platt_b"][0])
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def weights_path() -> Path:
    """Return the path of the shipped weights."""
    return Path(str(resources.files("retrieval").joinpath("data", WEIGHTS_FILE)))


def load_head(path: Path | None = None, sha256: str | None = None) -> AnswerabilityHead:
    """Load the head's weights, checking their checksum (the shipped file's by default)."""
    path = path or weights_path()
    expected = WEIGHTS_SHA256 if sha256 is None else sha256
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CitebotError(f"cannot read the answerability weights {path}: {exc}") from exc
    if expected and hashlib.sha256(raw).hexdigest() != expected:
        raise CitebotError(
            f"the answerability weights {path} do not match their checksum; "
            "rebuild them with `make answerability`"
        )
    from safetensors.numpy import load

    try:
        return AnswerabilityHead(load(raw))
    except Exception as exc:  # a truncated or foreign file: say which file, not a stack trace
        raise CitebotError(f"the answerability weights {path} cannot be read: {exc}") from exc


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
        out.append(Candidate(s.text, before.text if before else "", title, s.score, s.overlap, s.cosine, 0.0))
        index.append(i)
        if len(out) == limit:
            break
    return index, out


class AnswerabilityCheck:
    """The Judge of retrieval/answer.py: picks the sentence most likely to answer, and how likely."""

    def __init__(self, head: AnswerabilityHead, embedder: Embedder) -> None:
        self.head = head
        self.embedder = embedder

    def __call__(
        self, question: str, ranked: Sequence[_Sentence], pool: Sequence[Passage]
    ) -> tuple[int, float] | None:
        """Return (index in the ranking of the sentence to show, probability it answers), or None."""
        from retrieval.answer import coverage

        index, found = candidates_from(ranked, pool)
        if not found:
            return None
        states = self.embedder.pair_states(question, [c.context for c in found])
        if states is None:
            return None  # an embedding model that cannot read pairs: the gate alone decides
        dense = max((p.dense or 0.0 for p in pool), default=0.0)
        lexical = lexical_features(question, _with_cues(question, found), dense, coverage(question, pool))
        probabilities = self.head.probabilities(states, lexical)
        best = int(np.argmax(probabilities))
        return index[best], float(probabilities[best])


def _with_cues(question: str, found: Sequence[Candidate]) -> list[Candidate]:
    """Return the candidates with their answer-type cue, as the head reads it: 1 if the type is there."""
    from retrieval.answertype import cue

    return [replace(c, cue=min(cue(question, c.text), 1.0)) for c in found]


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
