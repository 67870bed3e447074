"""Unanswerable twins of answerable dev questions, built the way SQuAD 2.0's were: by editing them.

SQuAD 2.0's unanswerable questions were written by editing answerable ones so that the
paragraph no longer answers them: a name, number or date swapped for another of the same kind
from the same article, a negation added, a word replaced by its antonym. This module makes such
edits deterministically (a seed from the question's text) from dev questions that citebot
answers, and pairs each edited question with the ORIGINAL answer sentence: a pair labelled
"does not answer", whose words are nearly all in the sentence. It is a general method (no rule
per question) and reads dev splits only (tools/train_crossencoder.py).
"""

from __future__ import annotations

import hashlib
import random
import re

_YEAR = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\d\b|\b\d\b")
_NAME = re.compile(r"\b[A-Z][\w'’-]*[a-z][\w'’-]*(?: (?:of |the |de |von |van )?[A-Z][\w'’-]+)*")
# capitalised words a question or sentence starts with that are not part of a name
_WH = frozenset(
    [
        "What",
        "Which",
        "Who",
        "Whom",
        "Whose",
        "When",
        "Where",
        "Why",
        "How",
        "In",
        "On",
        "At",
        "By",
        "For",
        "From",
        "During",
        "After",
        "Before",
        "The",
        "A",
        "An",
        "To",
        "Of",
        "As",
        "Since",
        "With",
        "Along",
    ]
)
# an auxiliary followed by an article or a participle: "is the", "was built" ("are rotors" is inverted)
_NEGATABLE = re.compile(
    r"\b(?:is|was|are|were|can|could|would|will|should|has|have|had) "
    r"(?=(?:the|a|an|\w+ed|\w+en|\w+ing)\b)"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"“(]\s*)$")
_ANTONYMS = {
    "first": "last",
    "largest": "smallest",
    "biggest": "smallest",
    "most": "least",
    "more": "less",
    "before": "after",
    "increase": "decrease",
    "increased": "decreased",
    "earliest": "latest",
    "highest": "lowest",
    "higher": "lower",
    "longest": "shortest",
    "oldest": "youngest",
    "older": "younger",
    "start": "end",
    "began": "ended",
    "begin": "end",
    "won": "lost",
    "win": "lose",
    "north": "south",
    "northern": "southern",
    "east": "west",
    "eastern": "western",
    "major": "minor",
    "maximum": "minimum",
    "above": "below",
    "inside": "outside",
    "early": "late",
    "positive": "negative",
    "accepted": "rejected",
    "allowed": "forbade",
    "supported": "opposed",
    "support": "oppose",
    "strong": "weak",
    "strongest": "weakest",
    "best": "worst",
    "better": "worse",
    "upper": "lower",
    "internal": "external",
    "public": "private",
    "legal": "illegal",
    "success": "failure",
    "successful": "unsuccessful",
    "common": "rare",
    "ancient": "modern",
    "rich": "poor",
    "large": "small",
    "high": "low",
    "long": "short",
    "open": "closed",
    "entered": "left",
    "founded": "dissolved",
    "built": "destroyed",
    "gained": "lost",
    "rise": "fall",
    "male": "female",
    "men": "women",
    "domestic": "foreign",
    "western": "eastern",
    "created": "abolished",
}
_ANTONYM = {**_ANTONYMS, **{v: k for k, v in _ANTONYMS.items()}}
EDITS = ("swap", "role", "negation", "antonym")


def spans(text: str) -> dict[str, list[str]]:
    """Return the names, years and other numbers of a text, each kind in order of first mention."""
    years = _YEAR.findall(text)
    numbers = [n for n in _NUMBER.findall(text) if not _YEAR.fullmatch(n)]
    names = []
    for m in _NAME.finditer(text):
        if _SENTENCE_START.search(text[max(0, m.start() - 3) : m.start()]):
            continue  # capitalised because a sentence starts there: not surely a name
        words = m[0].split()
        while words and words[0] in _WH:
            words = words[1:]
        if words:
            names.append(" ".join(words))
    return {k: list(dict.fromkeys(v)) for k, v in (("year", years), ("number", numbers), ("name", names))}


def _in(span: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(span)}(?!\w)", text, flags=re.IGNORECASE) is not None


def _replace(question: str, old: str, new: str) -> str:
    return re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", lambda _: new, question, count=1)


def swap(question: str, context: str, article: str, rng: random.Random, *, role: bool) -> str | None:
    """Swap a name, year or number the context confirms for another of its kind from the article.

    role=False: the new one is not in the context (another entity); role=True: it is (another
    participant of the same sentence, the "swapped role" of SQuAD 2.0's questions).
    """
    mine = spans(question)
    pool = spans(article if not role else context)
    options = []
    for kind, found in mine.items():
        for old in found:
            if not _in(old, context):
                continue
            others = [
                s
                for s in pool[kind]
                if s.lower() != old.lower()
                and not _in(s, question)
                and not _in(old, s)
                and not _in(s, old)
                and _in(s, context) == role
            ]
            options += [(old, s) for s in others]
    if not options:
        return None
    old, new = rng.choice(options)
    return _replace(question, old, new)


def negate(question: str) -> str | None:
    """Add a negation after the question's first auxiliary verb ("was built" -> "was not built")."""
    if re.search(r"\b(not|never|n't)\b", question):
        return None
    m = _NEGATABLE.search(question)
    return question[: m.end()] + "not " + question[m.end() :] if m else None


def antonym(question: str, rng: random.Random) -> str | None:
    """Replace one word of the question by its antonym ("first" -> "last")."""
    found = [m for m in re.finditer(r"\b[a-z]+\b", question) if m[0] in _ANTONYM]
    if not found:
        return None
    m = rng.choice(found)
    return question[: m.start()] + _ANTONYM[m[0]] + question[m.end() :]


def edits(question: str, context: str, article: str, most: int = 2) -> list[tuple[str, str]]:
    """Return up to `most` (edit kind, edited question) pairs the context does not answer."""
    rng = random.Random(hashlib.sha256(question.encode("utf-8")).hexdigest())
    made = {
        "swap": swap(question, context, article, rng, role=False),
        "role": swap(question, context, article, rng, role=True),
        "negation": negate(question),
        "antonym": antonym(question, rng),
    }
    out = [(k, q) for k, q in made.items() if q and q != question]
    rng.shuffle(out)
    # the kinds SQuAD 2.0 edits most are kept first: an entity swap, then the others
    out.sort(key=lambda kq: kq[0] != "swap")
    return out[:most]
