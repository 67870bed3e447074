"""Sentence spans and search tokens, shared by chunking, BM25 and answer selection."""

from __future__ import annotations

import re
from functools import lru_cache

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then space; a
# blank line; or a period glued to the next sentence ("meeting.Kim": a word, then a capitalised one).
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n\s*\n|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
# The same without the glued period, each branch opened by its first character so the regex engine
# skips ahead to the next mark or newline: ~15x faster. Used when no period is glued to a capital.
_SPACED_BOUNDARY = re.compile(r"[.!?…\n](?:(?<=[.!?…])[.!?…]*[\"'”’)\]]*(?=\s)|(?<=\n)\s*\n)")
_GLUED = re.compile(r"[.!?](?=[A-Z][a-z])")
_NEXT_WORD = re.compile(r"[\s\"'“‘(\[]*([\w]+)")
_ROMAN = re.compile(r"[IVX]+")
# Titles and Latin forms: the period never ends a sentence ("No." only before a number).
_TITLES = frozenset(
    (
        *("mr", "mrs", "ms", "dr", "prof", "st", "mt", "ft", "no", "nos", "vs", "e.g", "i.e", "cf", "pp"),
        *("vol", "ch", "sec", "fig", "approx", "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep", "rev"),
    )
)
# Other abbreviations end a sentence only when a sentence-opening word follows them.
_ABBREVIATIONS = _TITLES | frozenset(
    (
        *(
            "sr",
            "jr",
            "etc",
            "u.s",
            "u.k",
            "u.n",
            "a.m",
            "p.m",
            "inc",
            "ltd",
            "co",
            "corp",
            "dept",
            "est",
            "al",
        ),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    )
)
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?…]*[\"'”’)\]]*$")
_TOKEN = re.compile(r"\w+(?:[.,']\w+)*", re.UNICODE)
# A typographic apostrophe is read as a typed one ("Kim’s" as "Kim's"), as phones type it.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "in",
        "out",
        "on",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "s",
        "t",
        "can",
        "will",
        "just",
        "don",
        "should",
        "now",
        "i",
        "me",
        "my",
        "myself",
        "we",
        "our",
        "ours",
        "ourselves",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "it",
        "its",
        "itself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "what",
        "which",
        "who",
        "whom",
        "this",
        "that",
        "these",
        "those",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "would",
        "could",
        "ought",
        "i'm",
        "you're",
        "he's",
        "she's",
        "it's",
        "we're",
        "they're",
        "i've",
        "you've",
        "we've",
        "they've",
        "i'd",
        "you'd",
        "he'd",
        "she'd",
        "we'd",
        "they'd",
        "i'll",
        "you'll",
        "he'll",
        "she'll",
        "we'll",
        "they'll",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "hasn't",
        "haven't",
        "hadn't",
        "doesn't",
        "don't",
        "didn't",
        "won't",
        "wouldn't",
        "shan't",
        "shouldn't",
        "can't",
        "cannot",
        "couldn't",
        "mustn't",
        "let's",
        "that's",
        "who's",
        "what's",
        "here's",
        "there's",
        "when's",
        "where's",
        "why's",
        "how's",
        "as",
        "until",
        "while",
        "also",
    ]
)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences in text[start:end], whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    glued = _GLUED.search(text, max(start - 1, 0), end) is not None
    for match in (_BOUNDARY if glued else _SPACED_BOUNDARY).finditer(text, start, end):
        stop = match.end()
        mark = match.group(0)
        if mark[:1] == "." and not mark.startswith(".."):
            # The word is the last one before the mark: no match starts before a space
            # (a space is in none of the pattern's classes), so the search starts after the last.
            word = _WORD_BEFORE.search(text, max(cursor, text.rfind(" ", cursor, stop) + 1), stop)
            if word and _is_abbreviation(word.group(1), text, stop, end):
                continue
        _append_trimmed(text, cursor, stop, spans)
        cursor = stop
    _append_trimmed(text, cursor, end, spans)
    return spans


def _is_abbreviation(word: str, text: str, stop: int, end: int) -> bool:
    """Tell whether the period ending `word` belongs to an abbreviation, initial or model name.

    Titles ("Dr.", "St.", "e.g.") never end a sentence. Other abbreviations, initials and short
    all-capital names ("U.S.", "Inc.", "J.", "ID.") end one only when the next word is one that
    opens sentences ("The", "He", "In"), not a name ("President", "Buzz", "Tolkien").
    """
    bare = word.rstrip(".")
    lower = bare.lower()
    following = _NEXT_WORD.match(text, stop, end)
    nxt = following.group(1) if following else ""
    if lower in _TITLES:
        return lower != "no" or nxt[:1].isdigit()
    acronym = bare.isupper() and bare.isalpha() and len(bare) <= 3 and not _ROMAN.fullmatch(bare)
    if lower in _ABBREVIATIONS or (len(bare) == 1 and bare.isalpha()) or acronym:
        # Another initial follows ("J. A. Hobson", "U. S. Secretary"): "A" or "T" is no opener here.
        initial = (
            following is not None and len(nxt) == 1 and text[following.end() : following.end() + 1] == "."
        )
        opener = nxt[:1].isupper() and nxt.lower() in STOPWORDS and not initial
        return not opener and not (acronym and not nxt[:1].isalpha())
    return False


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


@lru_cache(maxsize=1)
def _stemmer() -> object:
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Return the lower-cased word tokens of text, stop words included."""
    return [t.lower().replace(",", "") for t in _TOKEN.findall(text.translate(_APOSTROPHES))]


def stems(text: str) -> list[str]:
    """Return the stemmed word tokens of text, stop words included, for matching phrases."""
    return stem_words(words(text))


def stem_words(tokens: list[str]) -> list[str]:
    """Return the stems of word tokens, in one call of the stemmer."""
    return list(_stemmer().stemWords(tokens))  # type: ignore[attr-defined]


def terms(text: str) -> list[str]:
    """Return stemmed content terms of text (stop words dropped) for lexical matching."""
    stem = _stemmer().stemWord  # type: ignore[attr-defined]
    return [stem(w) for w in words(text) if w not in STOPWORDS]


# Verb forms that short statements use without a telling ending (-ed, -ing, -s).
_AUXILIARIES = frozenset(
    (
        *("is", "are", "was", "were", "be", "been", "am", "has", "have", "had", "do", "does", "did"),
        *("will", "would", "can", "could", "may", "might", "must", "shall", "should", "said", "says"),
        *("say", "got", "made", "went", "came", "took", "gave", "met", "left", "told", "began", "became"),
        *("saw", "won", "ran", "put", "set", "let", "led", "held", "kept", "built", "fell", "felt"),
        *("found", "grew", "knew", "lost", "paid", "sent", "spent", "stood", "thought", "wrote"),
        *("bought", "brought"),
    )
)
_HEADING_WORDS = 10
_VERBLESS_WORDS = 6


def is_heading(sentence: str) -> bool:
    """Tell whether a sentence reads as a heading or caption rather than a statement.

    A short line without a verb ("The Rukban camp", "Russian President Vladimir Putin."), with
    only a participle ("Kim Jong-Un leaving for Russia.") or without closing punctuation ("train
    travel") says nothing on its own.
    """
    tokens = sentence.split()
    if not tokens or len(tokens) > _HEADING_WORDS:
        return False
    core = sentence.rstrip().rstrip("\"'”’)]")
    if not core or core[-1] not in ".!?…:;,":
        return True
    content = [w for w in words(sentence) if w not in STOPWORDS and w.isalpha()]
    if content and all(w[:1].isupper() for w in _TOKEN.findall(sentence) if w.lower() in content):
        return True  # a title-case caption: "Russian President Vladimir Putin."
    short = len(tokens) <= _VERBLESS_WORDS
    said = words(sentence)
    # A participle with no auxiliary is a caption's ("Kim Jong-Un leaving for Russia."), not a statement's.
    finite = [w for w in said if _looks_like_verb(w) and not _participle(w)]
    return short and not any(w in _AUXILIARIES for w in said) and not finite


def _participle(word: str) -> bool:
    """Tell whether an -ing word is a participle ("leaving", "being"), not a base verb ("bring", "sing")."""
    return word.endswith("ing") and any(c in "aeiouy" for c in word[:-3])


def _looks_like_verb(word: str) -> bool:
    """Tell whether a lower-case word has a verb's inflection (-ed, -ing, or a third-person -s)."""
    if len(word) <= 3 or not word.isalpha():
        return False
    return word.endswith(("ed", "ing")) or (word.endswith("s") and not word.endswith(("ss", "us", "is")))
