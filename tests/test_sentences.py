"""Sentence splitting as a reader sees it: table cases and properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.text import is_heading, sentence_spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "In 2019 he went to Hanoi for a summit with then-U.S. President Donald Trump. He came back.",
            ["In 2019 he went to Hanoi for a summit with then-U.S. President Donald Trump.", "He came back."],
        ),
        ("The U.K. Parliament voted. It passed.", ["The U.K. Parliament voted.", "It passed."]),
        (
            "He met Mr. Smith and Dr. Jones at St. Paul's. They talked.",
            ["He met Mr. Smith and Dr. Jones at St. Paul's.", "They talked."],
        ),
        (
            "Room No. 4 is free. He said no. Then he left.",
            ["Room No. 4 is free.", "He said no.", "Then he left."],
        ),
        ("Acme Inc. Chairman Bob spoke. Sales rose.", ["Acme Inc. Chairman Bob spoke.", "Sales rose."]),
        ("Bring tools, e.g. Hammers and saws. Thanks.", ["Bring tools, e.g. Hammers and saws.", "Thanks."]),
        (
            "The Lord of the Rings is by J. R. R. Tolkien. It is long.",
            ["The Lord of the Rings is by J. R. R. Tolkien.", "It is long."],
        ),
        (
            "VW showed a wagon called the ID. Buzz in May. It is electric.",
            ["VW showed a wagon called the ID. Buzz in May.", "It is electric."],
        ),
        ("She moved to the U.S. The move was hard.", ["She moved to the U.S.", "The move was hard."]),
        (
            "They confirmed the meeting.Kim left on Sunday.",
            ["They confirmed the meeting.", "Kim left on Sunday."],
        ),
        ("The talks will take place.. Analysts agree.", ["The talks will take place..", "Analysts agree."]),
        ("Version 2.5 shipped. See example.com today.", ["Version 2.5 shipped.", "See example.com today."]),
        ("World War II. The war ended.", ["World War II.", "The war ended."]),
        (
            "Theorists such as J. A. Hobson wrote. So did others.",
            ["Theorists such as J. A. Hobson wrote.", "So did others."],
        ),
        (
            "Japan and Korea. The T. T. Tsui Gallery opened.",
            ["Japan and Korea.", "The T. T. Tsui Gallery opened."],
        ),
        ("It was broadcast from 19.2°E. This was new.", ["It was broadcast from 19.2°E.", "This was new."]),
        ("In much of the U.S. South, many farmed.", ["In much of the U.S. South, many farmed."]),
    ],
)
def test_sentences_end_where_a_reader_ends_them(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    "line",
    [
        "The Rukban camp",
        "train travel",
        "Russian President Vladimir Putin.",
        '"Pleading for help"',
        "A view of the station.",
        "Kim Jong-Un leaving for Russia.",  # a photo caption: a participle, no auxiliary
    ],
)
def test_headings_and_captions_are_headings(line: str) -> None:
    assert is_heading(line)


@pytest.mark.parametrize(
    "line",
    [
        "He said.",
        "Kim went home.",
        "Paris is big.",
        "The project ran until 1990.",
        "He is leaving for Russia.",
        "Kim leaves for Russia.",
        "They bring food.",  # a base verb ending in -ing, not a participle
        "Children sing.",
    ],
)
def test_short_statements_are_not_headings(line: str) -> None:
    assert not is_heading(line)


WORD = st.sampled_from(
    [
        "train",
        "river",
        "people",
        "station",
        "report",
        "summit",
        "border",
        "leader",
        "city",
        "morning",
        "bridge",
        "ferry",
        "council",
        "garage",
        "carriage",
        "journey",
        "speed",
        "meeting",
        "agency",
        "country",
        "weapons",
        "parade",
        "newspaper",
        "analysts",
        "budget",
    ]
)
ABBREVIATION = st.sampled_from(["Mr.", "Dr.", "St.", "e.g.", "then-U.S.", "U.K.", "J. R. R.", "ID."])
NAME = st.sampled_from(["Smith", "Putin", "President", "Buzz", "Tolkien", "Paul"])


@given(st.lists(WORD, min_size=2, max_size=8), ABBREVIATION, NAME, st.lists(WORD, min_size=1, max_size=5))
def test_an_abbreviation_before_a_name_never_ends_the_sentence(
    before: list[str], abbreviation: str, name: str, after: list[str]
) -> None:
    text = f"{' '.join(before).capitalize()} {abbreviation} {name} {' '.join(after)}. Next one here."
    assert sentences(text)[0] == text[: text.index(". Next") + 1]


@given(
    st.lists(st.lists(WORD, min_size=2, max_size=8), min_size=1, max_size=6),
    st.sampled_from([" ", "", "  ", "\n"]),
)
def test_plain_sentences_split_exactly_whatever_the_spacing(words: list[list[str]], gap: str) -> None:
    parts = [" ".join(ws).capitalize() + "." for ws in words]
    assert sentences(gap.join(parts)) == parts


@given(st.text(max_size=300))
def test_spans_are_ordered_trimmed_and_inside_the_text(text: str) -> None:
    spans = sentence_spans(text)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert all(not text[s].isspace() and not text[e - 1].isspace() for s, e in spans)


_MARKS = st.text(alphabet=st.sampled_from(list("ab AB.!?…\"')]\n\t,")), max_size=60)


@given(_MARKS)
def test_the_fast_boundary_finds_the_marks_the_full_one_finds_without_glued_periods(text: str) -> None:
    """_SPACED_BOUNDARY is _BOUNDARY with the glued-period branch left out, used only when none can match."""
    import retrieval.text as text_module

    full = [m.span() for m in text_module._BOUNDARY.finditer(text)]
    spaced = [m.span() for m in text_module._SPACED_BOUNDARY.finditer(text)]
    if text_module._GLUED.search(text) is None:
        assert spaced == full
    else:
        assert set(spaced) <= set(full)


@given(st.text(alphabet=st.sampled_from(list("ab Dr.Jn\"')(…,\n")), max_size=60))
def test_the_word_before_a_period_is_found_from_the_last_space(text: str) -> None:
    """The search for the word before a period starts after the last space: the same word as from the sentence's start."""
    import retrieval.text as text_module

    for m in text_module._BOUNDARY.finditer(text):
        stop = m.end()
        whole = text_module._WORD_BEFORE.search(text, 0, stop)
        near = text_module._WORD_BEFORE.search(text, text.rfind(" ", 0, stop) + 1, stop)
        assert (whole and whole.group(1)) == (near and near.group(1))
