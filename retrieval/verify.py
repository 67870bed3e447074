"""Check an LLM answer against its numbered passages before anyone sees it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.answer import NOT_FOUND
from retrieval.relation import RELATION_THRESHOLD, unsupported_words
from retrieval.text import STOPWORDS, sentence_spans

if TYPE_CHECKING:
    from retrieval.embedding import Embedder
    from retrieval.models import Passage

# Cosine between a claim (markers removed) and the best 1-2 sentence window of a cited passage.
# Calibrated on xquad-articles dev with all-MiniLM-L6-v2: see docs/llm.md.
SUPPORT_THRESHOLD = 0.60
MIN_SHARE = 0.5  # fall back when fewer than half of the answer's sentences survive

# [1], [1, 2], [1][2], [Passage 1]; the numbers are read, the form is normalised to [n].
_MARKER = re.compile(r"\[\s*(?:passage\s*)?(\d{1,3}(?:\s*[,;]\s*(?:passage\s*)?\d{1,3})*)\s*\]", re.I)
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[[^\]\n]{1,40}\])+)")
_CLAUSE = re.compile(r"[,;:]\s+")
_MIN_CLAUSE = 25
_ECHOED_TAG = re.compile(r"</?[A-Za-z_][^<>\n]{0,200}>")  # small models echo the prompt's tags
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.M)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][\w'’-]*")
_WORD_NUMBERS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {
    w: str(10 * i)
    for i, w in enumerate(["thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], start=3)
}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", re.I)
# Capitalised words that are grammar, not names, when they open a sentence or clause.
_OPENERS = STOPWORDS | frozenset(
    [
        "according",
        "additionally",
        "also",
        "although",
        "based",
        "because",
        "both",
        "however",
        "moreover",
        "overall",
        "therefore",
        "thus",
        "yes",
        "yet",
        "furthermore",
        "finally",
        "first",
        "second",
        "third",
        "last",
        "many",
        "several",
        "since",
    ]
)
_ABSTAIN = re.compile(
    r"couldn'?t find|could not find|can(?:no|')t find|not (?:mentioned |found |stated )?in the (?:articles|passages)|"
    r"(?:articles|passages) do(?:es)? not (?:say|mention|contain)|no information",
    re.I,
)


@dataclass(frozen=True)
class Dropped:
    """A sentence removed from the answer, and why."""

    sentence: str
    reason: str


@dataclass(frozen=True)
class Verification:
    """The verifier's verdict on one LLM answer."""

    text: str  # kept sentences with their [n] markers, numbering as given to the model
    kept: int
    dropped: tuple[Dropped, ...]
    share: float  # kept / sentences in the answer
    fallback: bool  # True: show the extractive answer instead
    reason: str  # why it fell back, for the log ("" when it did not)
    abstained: bool = False
    cited: tuple[int, ...] = ()  # passage numbers the kept text cites
    highlights: tuple[tuple[int, int, int], ...] = ()  # (n, start, end) in the passage's text


def fallback(reason: str) -> Verification:
    """Return a verdict that sends the caller to the extractive answer."""
    return Verification("", 0, (), 0.0, True, reason)


def is_abstention(text: str) -> bool:
    """Tell whether an LLM reply says the passages do not hold the answer."""
    flat = " ".join(text.split()).lower()
    if NOT_FOUND.lower().rstrip(".") in flat:
        return True
    return not _MARKER.search(text) and bool(_ABSTAIN.search(flat))


def split_claims(text: str) -> list[str]:
    """Split an LLM answer into sentences, each keeping the markers written after its full stop."""
    text = _BULLET.sub("", _ECHOED_TAG.sub(" ", text).strip())
    text = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)
    return [text[s:e].strip() for s, e in sentence_spans(text)]


def markers(sentence: str) -> list[int]:
    """Return the passage numbers a sentence cites, in order, without repeats."""
    found = [int(n) for m in _MARKER.finditer(sentence) for n in re.findall(r"\d+", m.group(1))]
    return list(dict.fromkeys(found))


def strip_markers(sentence: str) -> str:
    """Return a sentence without its [n] markers."""
    bare = _MARKER.sub("", sentence)
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(bare.split())).strip()


def numbers(text: str) -> set[str]:
    """Return the numbers in text, normalised ("1,180" -> "1180", "ten" -> "10")."""
    found = {n.replace(",", "") for n in _NUMBER.findall(text)}
    found |= {_WORD_NUMBERS[w.lower()] for w in _WORD_NUMBER.findall(text)}
    return {n.rstrip("0").rstrip(".") if "." in n else n for n in found}


def names(claim: str) -> set[str]:
    """Return the capitalised words of a claim that name something (lower case, no possessive)."""
    out = set()
    for m in _NAME.finditer(claim):
        word = re.sub(r"['’]s$", "", m.group(0)).strip("-'’")
        if len(word) > 1 and word.lower() not in _OPENERS:
            out.add(word.lower())
    return out


def _mentions(pool: str, name: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", pool) is not None


def unsupported_facts(claim: str, sources: Sequence[str]) -> list[str]:
    """Return the numbers and names of a claim that none of the source texts contain."""
    pool = " ".join(sources)
    have = numbers(pool)
    missing = sorted(n for n in numbers(claim) if n not in have)
    low = pool.lower()
    missing += sorted(n for n in names(claim) if not _mentions(low, n))
    return missing


def windows(text: str) -> list[tuple[int, int]]:
    """Return the spans of a passage's sentences, adjacent sentence pairs and longer clauses."""
    spans = sentence_spans(text)
    pairs = [(a[0], b[1]) for a, b in itertools.pairwise(spans)]
    # A claim often restates one clause of a long sentence; whole-sentence cosine undersells it.
    clauses = []
    for start, end in spans:
        cuts = [start, *(m.end() for m in _CLAUSE.finditer(text, start, end)), end]
        if len(cuts) > 2:
            parts = list(itertools.pairwise(cuts))
            clauses += [(a, b) for a, b in parts if b - a >= _MIN_CLAUSE]
            clauses += [(a[0], b[1]) for a, b in itertools.pairwise(parts)]
    return list(dict.fromkeys(spans + pairs + clauses))


def support_scores(
    claims: Sequence[str], texts: Sequence[str], embedder: Embedder
) -> list[list[tuple[float, int, int]]]:
    """Return, for each claim and text, the best window cosine and that window's span."""
    spans = [windows(t) or [(0, len(t))] for t in texts]
    flat = [t[s:e] for t, ws in zip(texts, spans, strict=True) for s, e in ws]
    vectors = embedder.encode([*claims, *flat]) if claims else np.zeros((0, 1), dtype=np.float32)
    claim_v, window_v = vectors[: len(claims)], vectors[len(claims) :]
    sims = claim_v @ window_v.T if flat else np.zeros((len(claims), 0))
    out: list[list[tuple[float, int, int]]] = []
    for row in sims:
        per_text, offset = [], 0
        for ws in spans:
            part = row[offset : offset + len(ws)]
            best = int(np.argmax(part))
            per_text.append((float(part[best]), *ws[best]))
            offset += len(ws)
        out.append(per_text)
    return out


def verify(
    answer: str,
    passages: Sequence[Passage],
    embedder: Embedder,
    *,
    threshold: float = SUPPORT_THRESHOLD,
    min_share: float = MIN_SHARE,
    relation_threshold: float = RELATION_THRESHOLD,
) -> Verification:
    """Keep the sentences whose citations exist and support them; else tell the caller to fall back.

    A sentence is supported when a window of a cited passage is close to it (cosine), holds its
    numbers and names, and states its relation: each of its other content words is in the window
    or aligns with it (retrieval/relation.py).
    """
    if not answer.strip():
        return fallback("the model returned nothing")
    if is_abstention(answer):
        return Verification("", 0, (), 0.0, True, "the model abstained", abstained=True)
    checked, dropped = _cited_claims(split_claims(answer), len(passages))
    total = len(checked) + len(dropped)
    texts = [p.text for p in passages]
    scores = support_scores([c for _, c, _ in checked], texts, embedder)
    kept: list[str] = []
    highlights: list[tuple[int, int, int]] = []
    for (sentence, claim, cited), per_passage in zip(checked, scores, strict=True):
        backing = [n for n in cited if per_passage[n - 1][0] >= threshold]
        if not backing:
            best = max(per_passage[n - 1][0] for n in cited)
            dropped.append(Dropped(sentence, f"cited passage does not support it (cosine {best:.2f})"))
            continue
        sources = [f"{passages[n - 1].title} {passages[n - 1].text}" for n in backing]
        missing = unsupported_facts(claim, sources)
        if missing:
            dropped.append(Dropped(sentence, f"not in the cited passage: {', '.join(missing)}"))
            continue
        n = max(backing, key=lambda n: per_passage[n - 1][0])
        window = passages[n - 1].text[per_passage[n - 1][1] : per_passage[n - 1][2]]
        if gaps := unsupported_words(claim, window, embedder, relation_threshold):
            dropped.append(Dropped(sentence, f"the cited passage does not say this: {', '.join(gaps)}"))
            continue
        kept.append(_with_markers(claim, backing))
        highlights += [(n, per_passage[n - 1][1], per_passage[n - 1][2]) for n in backing]
    share = len(kept) / total if total else 0.0
    verdict = Verification(
        " ".join(kept),
        len(kept),
        tuple(dropped),
        share,
        False,
        "",
        cited=tuple(sorted({n for n, _, _ in highlights})),
        highlights=tuple(dict.fromkeys(highlights)),
    )
    if not kept:
        return _fall(verdict, "no sentence of the answer is supported by its citations")
    if share < min_share:
        return _fall(verdict, f"only {len(kept)} of {total} sentences are supported")
    return verdict


def _cited_claims(
    sentences: Sequence[str], passages: int
) -> tuple[list[tuple[str, str, list[int]]], list[Dropped]]:
    """Return (sentence, claim, cited numbers) for sentences citing existing passages, and the rest dropped."""
    dropped: list[Dropped] = []
    checked: list[tuple[str, str, list[int]]] = []
    for sentence in sentences:
        cited, claim = markers(sentence), strip_markers(sentence)
        if not any(ch.isalnum() for ch in claim):
            continue  # a stray marker or punctuation, not a claim
        bad = [n for n in cited if not 1 <= n <= passages]
        if not cited:
            dropped.append(Dropped(sentence, "no citation"))
        elif bad:
            dropped.append(
                Dropped(sentence, f"cites {', '.join(f'[{n}]' for n in bad)}, which does not exist")
            )
        else:
            checked.append((sentence, claim, cited))
    return checked, dropped


def _fall(verdict: Verification, reason: str) -> Verification:
    return Verification("", 0, verdict.dropped, verdict.share, True, reason)


def _with_markers(claim: str, cited: Sequence[int]) -> str:
    """Write the claim the way extractive answers are written: the sentence, then its markers."""
    tags = " ".join(f"[{n}]" for n in cited)
    return f"{claim if claim[-1] in '.!?' else claim + '.'} {tags}"
