"""What the answer step reads of a passage whatever the question, worked out once per text.

Splitting a passage into sentences, tokenising and stemming them, and finding their names,
acronyms and demonyms take most of the answer step; the same chunks come back ask after ask, so
the result is held in a bounded cache keyed by the text itself: a re-added or refreshed article
whose chunk text changed is read again, and a removed one simply ages out.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass

from retrieval.matching import TextFacts, refers_back, word_masks
from retrieval.text import STOPWORDS, is_heading, sentence_spans, stem_words, terms, words

# Characters of passage text held: what is read of a text takes ~50 bytes a character (its
# words, stems and word pairs as Python objects), so ~10 MB; ~330 chunks of the default 600.
CACHED_CHARACTERS = 200_000


@dataclass(frozen=True)
class SentenceFacts:
    """One sentence of a passage and what the ranker reads of it that does not depend on the question."""

    start: int  # offset in the passage text
    end: int
    text: str
    said: list[str]  # stems, stop words kept (for phrasing)
    masks: dict[str, int]  # where each stem stands (word_masks), for the words kept in order
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
        word_masks(said),
        TextFacts(sentence, kept),
        set(itertools.pairwise(kept)),
        set(itertools.pairwise(said)),
        refers_back(sentence),
        is_heading(sentence),
    )


def _read(text: str) -> PassageFacts:
    spans = sentence_spans(text)
    sentences = tuple(_sentence(text, s, e) for s, e in spans)
    return PassageFacts(TextFacts(text, _whole_terms(text, spans, sentences)), sentences)


def _whole_terms(text: str, spans: list[tuple[int, int]], sentences: tuple[SentenceFacts, ...]) -> list[str]:
    """Return terms(text), from its sentences' terms when no word can run across two of them.

    Sentences are cut at a mark followed by white space, a blank line, or a period glued to the next
    sentence ("meeting.Kim", one token of the whole text): only between sentences separated by
    white space are the whole text's tokens those of the sentences, one after the other.
    """
    if any(end >= start for (_, end), (start, _) in itertools.pairwise(spans)):
        return terms(text)
    return [t for sentence in sentences for t in sentence.terms]


class _Held:
    """The facts of the texts read last, least recently used first, up to a number of characters."""

    def __init__(self, characters: int) -> None:
        self.characters = characters
        self.held = 0
        self.texts: OrderedDict[str, PassageFacts] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, text: str) -> PassageFacts:
        with self.lock:
            got = self.texts.get(text)
            if got is not None:
                self.texts.move_to_end(text)
                return got
        got = _read(text)
        with self.lock:
            if text not in self.texts:
                self.texts[text] = got
                self.held += len(text)
            while self.held > self.characters and len(self.texts) > 1:
                gone, _ = self.texts.popitem(last=False)
                self.held -= len(gone)
        return got


_HELD = _Held(CACHED_CHARACTERS)


def passage_facts(text: str) -> PassageFacts:
    """Return the facts of a passage's text (held in a bounded cache keyed by the text)."""
    return _HELD.get(text)


def held_characters() -> int:
    """Return how many characters of passage text the cache holds the facts of."""
    return _HELD.held


def forget_passage_facts() -> None:
    """Empty the cache (for tests and measurements)."""
    with _HELD.lock:
        _HELD.texts.clear()
        _HELD.held = 0
