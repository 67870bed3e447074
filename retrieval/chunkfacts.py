"""What the answer step reads of a passage whatever the question, worked out once per text.

Splitting a passage into sentences, tokenising and stemming them, and finding their names,
acronyms and demonyms take most of the answer step; the same chunks come back ask after ask, so
the result is held in a bounded cache keyed by the text itself: a re-added or refreshed article
whose chunk text changed is read again, and a removed one simply ages out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

from retrieval.matching import TextFacts, refers_back
from retrieval.text import STOPWORDS, is_heading, sentence_spans, stem_words, terms, words

# Passages held; each holds a few kilobytes (the words of ~10 sentences), so ~10 MB at most.
CACHED_TEXTS = 1024


@dataclass(frozen=True)
class SentenceFacts:
    """One sentence of a passage and what the ranker reads of it that does not depend on the question."""

    start: int  # offset in the passage text
    end: int
    text: str
    said: list[str]  # stems, stop words kept (for phrasing)
    facts: TextFacts  # its terms (the stems of the other words), names, acronyms, demonyms
    bigrams: set[tuple[str, str]]  # its terms two by two
    pairs: set[tuple[str, str]]  # its stems two by two
    refers_back: bool  # its subject may point back ("He…", "The convoy…")
    heading: bool  # it reads as a heading or caption

    @property
    def terms(self) -> list[str]:
        """Return the sentence's content terms."""
        return self.facts.terms


@dataclass(frozen=True)
class PassageFacts:
    """A passage's sentences, and what is read of its whole text (for coverage)."""

    whole: TextFacts
    sentences: tuple[SentenceFacts, ...]


def _sentence(text: str, start: int, end: int) -> SentenceFacts:
    sentence = text[start:end]
    tokens = words(sentence)
    said = stem_words(tokens)
    kept = [stem for w, stem in zip(tokens, said, strict=True) if w not in STOPWORDS]
    return SentenceFacts(
        start,
        end,
        sentence,
        said,
        TextFacts(sentence, kept),
        set(itertools.pairwise(kept)),
        set(itertools.pairwise(said)),
        refers_back(sentence),
        is_heading(sentence),
    )


@lru_cache(maxsize=CACHED_TEXTS)
def passage_facts(text: str) -> PassageFacts:
    """Return the facts of a passage's text (held in a bounded cache keyed by the text)."""
    sentences = tuple(_sentence(text, s, e) for s, e in sentence_spans(text))
    return PassageFacts(TextFacts(text, terms(text)), sentences)
