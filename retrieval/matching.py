"""Question terms a sentence holds in another form (a demonym, an acronym, a measured value), and
the question's phrasing a sentence keeps (its word pairs, its words in order)."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from retrieval.answertype import TYPES, asks_in
from retrieval.text import STOPWORDS, stems, terms, words

# A run of capitalised words, with the small words names keep inside ("United States",
# "Department of Munitions Industry").
_RUN = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:(?:of|and|for|the)\s+)*[A-Z][\w'-]*)+")
_ACRONYM = re.compile(r"\b(?:[A-Z]\.){2,}|\b[A-Z]{2,6}\b")
# A demonym made by adding -n to a name ending in -a ("Russia": "Russian", "Korea": "Koreans").
# (Written "[A-Z](?<!\w.)" for "\b[A-Z]" so the regex engine skips ahead to capitals: ~6x faster.)
_DEMONYM = re.compile(r"([A-Z](?<!\w.)[a-z]+a)ns?\b")
# The words of a question that name a measure rather than a thing ("how fast", "how far").
_MEASURE_WORDS = frozenset(
    terms(
        "fast quick quickly slow slowly speed velocity pace far distance wide deep high tall long "
        "duration old age cost price pay paid worth spend spent earn percent percentage share proportion "
        "colour color position stance attitude view views opinion opinions feeling feelings"
    )
)


# Compared with stems ("why" stems to "whi").
_WH = frozenset(stems("what who whom whose which when where why how"))


def _initials(run: str) -> str:
    """Return the initials of a name's capitalised words ("The United States": "us")."""
    return "".join(w[0] for w in run.split() if w[:1].isupper() and w.lower() not in STOPWORDS).lower()


def _acronyms(text: str) -> dict[str, str]:
    """Return the acronyms of a text, by their letters ("U.S." and "US": "us"), with their term."""
    found = {}
    for m in _ACRONYM.finditer(text):
        word = m.group(0)
        found[word.replace(".", "").lower()] = next(iter(terms(word)), "")
    return found


def _name_runs(text: str) -> Iterable[tuple[str, str]]:
    """Yield the initials and words of every run of capitalised words in text that names something."""
    for m in _RUN.finditer(text):
        letters = _initials(m.group(0))
        if len(letters) >= 2:
            yield letters, m.group(0)


def _names(text: str) -> Iterable[tuple[str, set[str]]]:
    """Yield the initials and terms of every run of capitalised words in text."""
    return ((letters, set(terms(run))) for letters, run in _name_runs(text))


def _pair(demonym: re.Match[str]) -> list[tuple[str, str]]:
    """Return the demonym's term with the term of the name it comes from ("russian", "russia")."""
    return list(zip(terms(demonym.group(0)), terms(demonym.group(1)), strict=False))


def _demonyms(text: str) -> set[str]:
    """Return the terms of the names behind the demonyms of a text ("Russian": "russia")."""
    return {t for m in _DEMONYM.finditer(text) for t in terms(m.group(1))}


class QuestionTerms:
    """A question's content terms, and the other forms a sentence may give them in.

    - a name and its demonym are one term ("Russia" and "a Russian locomotive");
    - an acronym and the name it abbreviates are one ("the US" and "the United States");
    - the measure a question asks for is held by a sentence stating that measure in its own
      unit ("how fast" by "60 km/h", "how far" by "1,200 km", "how long" by "20 hours").
    """

    def __init__(self, question: str) -> None:
        self.terms = set(terms(question))
        # "Russian" in the question is held by a sentence that names Russia.
        self._demonyms = {t: base for m in _DEMONYM.finditer(question) for t, base in _pair(m)}
        self._acronyms = {letters: t for letters, t in _acronyms(question).items() if t in self.terms}
        self._names = list(_names(question))
        self._measures = [
            (set(terms(m.group(0))) & _MEASURE_WORDS & self.terms, kind.strong)
            for kind, m in zip(TYPES, asks_in(question), strict=True)
            if kind.strong is not None and m
        ]

    def found(self, sentence: str, sentence_terms: Iterable[str]) -> set[str]:
        """Return the question's terms the sentence holds, in the question's words or another form."""
        return self.found_in(TextFacts(sentence, list(sentence_terms)))

    def found_in(self, facts: TextFacts) -> set[str]:
        """Return the question's terms a text holds, from what was read of it once (see TextFacts)."""
        own = set(facts.terms)
        hit = self.terms & own
        if hit == self.terms:
            return hit
        own |= facts.demonyms
        hit |= self.terms & own
        hit |= {t for t, base in self._demonyms.items() if base in own}
        short = facts.acronyms if self._acronyms or self._names else {}
        if self._acronyms:
            hit |= {t for letters, t in self._acronyms.items() if letters in facts.named}
        hit |= {t for letters, name_terms in self._names if letters in short for t in name_terms}
        for measure, pattern in self._measures:
            if measure and pattern is not None and facts.matches(pattern):
                hit |= measure
        return hit & self.terms


@lru_cache(maxsize=16)
def question_terms(question: str) -> QuestionTerms:
    """Return QuestionTerms(question), kept for the few questions in flight (an ask reads them twice or more).

    Shared: callers must not change what it holds.
    """
    return QuestionTerms(question)


class TextFacts:
    """What QuestionTerms reads of a text whatever the question: its terms, demonyms, acronyms, names.

    Worked out once per text, so a text held in a cache is not read again for each question; the
    demonyms, acronyms and names only when a question first reads them (most questions need no
    acronyms, and a question whose terms are all in the text no demonyms). matches() remembers
    which patterns (answer-type units) the text holds.
    """

    __slots__ = ("_acronyms", "_demonyms", "_matches", "_named", "terms", "text")

    def __init__(self, text: str, text_terms: list[str]) -> None:
        self.text = text
        self.terms = text_terms
        self._demonyms: set[str] | None = None
        self._acronyms: dict[str, str] | None = None
        self._named: set[str] | None = None
        self._matches: dict[re.Pattern[str], bool] = {}

    @property
    def demonyms(self) -> set[str]:
        """Return the terms of the names behind the text's demonyms (see _demonyms)."""
        if self._demonyms is None:
            self._demonyms = _demonyms(self.text)
        return self._demonyms

    @property
    def acronyms(self) -> dict[str, str]:
        """Return the text's acronyms by their letters, with their term (see _acronyms)."""
        if self._acronyms is None:
            self._acronyms = _acronyms(self.text)
        return self._acronyms

    @property
    def named(self) -> set[str]:
        """Return the initials of the text's names and its acronyms' letters ("United States", "US": "us")."""
        if self._named is None:
            self._named = {letters for letters, _ in _name_runs(self.text)} | set(self.acronyms)
        return self._named

    def matches(self, pattern: re.Pattern[str]) -> bool:
        """Tell whether the pattern occurs in the text (remembered per pattern)."""
        hit = self._matches.get(pattern)
        if hit is None:
            hit = self._matches[pattern] = pattern.search(self.text) is not None
        return hit


class QuestionPhrasing:
    """How much of a question's phrasing a sentence keeps, stop words included.

    "in exchange for" or "crossed the border" tell more than the terms "exchange" or "border"
    alone; "supplied rockets to Russia" keeps the order of "has supplied to Russia".
    """

    def __init__(self, question: str) -> None:
        said = stems(question)
        content = [w not in STOPWORDS for w in words(question)]
        self._pairs = {
            (a, b) for i, (a, b) in enumerate(itertools.pairwise(said)) if content[i] or content[i + 1]
        }
        self._words = [w for w in said if w not in _WH]
        self._known = set(self._words)

    def pairs(self, sentence: list[str]) -> float:
        """Return the share of the question's word pairs (one word a content word) the sentence has."""
        return self.shares([sentence])[0][0]

    def shares(self, sentences: Sequence[Sequence[str]]) -> tuple[list[float], list[float]]:
        """Return each sentence's share of the question's word pairs, plain and by how few sentences have them.

        In the second, a pair counts 1/n when n of the sentences have it: "in exchange for" kept by
        one sentence tells more than "the weapons" kept by five.
        """
        return self.shares_of([set(itertools.pairwise(s)) for s in sentences])

    def shares_of(self, sentence_pairs: Sequence[set[tuple[str, str]]]) -> tuple[list[float], list[float]]:
        """Return shares() from each sentence's set of word pairs (its stems, two by two)."""
        if not self._pairs:
            return [0.0] * len(sentence_pairs), [0.0] * len(sentence_pairs)
        held = [self._pairs & pairs for pairs in sentence_pairs]
        seen = Counter(p for pairs in held for p in pairs)
        n = len(self._pairs)
        return [len(pairs) / n for pairs in held], [sum(1 / seen[p] for p in pairs) / n for pairs in held]

    def in_order(self, sentence: Sequence[str]) -> float:
        """Return the share of the question's words (wh-words aside) the sentence has in their order."""
        return self.in_order_of(word_masks(sentence))

    def in_order_of(self, masks: Mapping[str, int]) -> float:
        """Return in_order() from the sentence's word_masks()."""
        if not self._words:
            return 0.0
        return longest_common(self._words, masks) / len(self._words)


def word_masks(sentence: Sequence[str]) -> dict[str, int]:
    """Return, for each word of a sentence, a bit mask of where it stands (bit i: the i-th word)."""
    where: dict[str, int] = {}
    for i, w in enumerate(sentence):
        where[w] = where.get(w, 0) | 1 << i
    return where


def longest_common(first: Sequence[str], second: Mapping[str, int]) -> int:
    """Return the length of the longest common subsequence of a word list and a sentence's word_masks().

    Bit-parallel (Hyyrö 2004): one bit per word of the sentence, so each word of first costs a few
    integer operations instead of a row of the dynamic programme.
    """
    n = max(second.values(), default=0).bit_length()  # the sentence's length
    full = (1 << n) - 1
    v = full
    for word in first:
        u = v & second.get(word, 0)
        v = ((v + u) | (v - u)) & full
    return n - v.bit_count()


PRONOUNS = frozenset(["he", "she", "it", "they", "his", "her", "its", "their", "them"])
# A definite noun phrase as the subject, at the start or after a reported "that" ("Ria Novosti
# confirmed that the convoy crossed…").
_DEFINITE = re.compile(r"^(?:[^,]{0,60}\bthat\s+)?(?:the|this|these|those|that)\s+[a-z]+\b", re.I)


def refers_back(sentence: str) -> bool:
    """Tell whether a sentence's subject may point back: a pronoun or a definite noun phrase ("The convoy…")."""
    first = sentence.split(maxsplit=1)[0].lower() if sentence.split() else ""
    return first in PRONOUNS or _DEFINITE.match(sentence) is not None
