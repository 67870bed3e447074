"""Rendering: every message within Discord's limits, nothing pings, nothing links unbidden."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.compact import answer_text, compact_embed
from bot.render import (
    CONTENT_MAX,
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    LINK_MAX,
    THREAD_NAME_MAX,
    TITLE_MAX,
    answer_embed,
    articles_page,
    clip,
    escape,
    message_text,
    quote_passage,
    thread_name,
)
from retrieval.models import Answer, ArticleInfo, Citation

PING = re.compile(r"@(everyone|here)|<@[!&]?\d+>")
MASKED_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\((?!\\)")
BARE_LINK = re.compile(r"(?i)\b(https?|discord)://")


def _citation(n: int, passage: str, title: str, url: str | None = "https://example.org/a") -> Citation:
    hl = ((0, min(len(passage), 40)),) if passage else ()
    return Citation(n, f"a{n}", title, url, passage, 0, len(passage), 0.5, hl)


def _answer(question: str, text: str, passages: list[str], title: str) -> Answer:
    cites = tuple(_citation(i + 1, p, title) for i, p in enumerate(passages))
    return Answer(question, text, False, cites, {"total": 12.0}, 3)


def assert_embed_within_limits(embed: object) -> None:
    import discord

    assert isinstance(embed, discord.Embed)
    assert len(embed.title or "") <= TITLE_MAX
    assert len(embed.description or "") <= DESCRIPTION_MAX
    assert len(embed.fields) <= FIELDS_MAX
    for f in embed.fields:
        assert 0 < len(f.name or "") <= FIELD_NAME_MAX
        assert 0 < len(f.value or "") <= FIELD_VALUE_MAX
    assert len(embed.footer.text or "") <= FOOTER_MAX
    assert len(embed) <= EMBED_TOTAL_MAX


def assert_harmless(text: str) -> None:
    assert not PING.search(text)
    assert not MASKED_LINK.search(text)
    assert not BARE_LINK.search(text)


def test_everyone_in_an_article_does_not_ping() -> None:
    assert "@everyone" not in escape("hello @everyone and @here")
    assert "<@123>" not in escape("<@123> <@&456>")


def test_masked_links_in_article_text_do_not_render() -> None:
    assert_harmless(escape("[free nitro](https://evil.example/x)"))


def test_clip_marks_a_cut_with_an_ellipsis() -> None:
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 4) == "abc"


def test_clip_never_leaves_a_dangling_escape() -> None:
    assert not clip(escape("a" * 9 + "*"), 11).rstrip("…").endswith("\\")


def test_the_answer_span_is_bold_in_the_quoted_passage() -> None:
    passage = "The train is slow. It travels at about 60 km/h. It is armored."
    c = Citation(1, "a", "T", None, passage, 0, len(passage), 1.0, ((19, 47),))
    assert "**It travels at about 60 km/h.**" in quote_passage(c, 1024)


def test_two_answer_sentences_of_one_passage_are_both_bold() -> None:
    passage = "The train is slow. It travels at about 60 km/h. It is armored."
    c = Citation(1, "a", "T", None, passage, 0, len(passage), 1.0, ((0, 18), (19, 47)))
    assert "**The train is slow. It travels at about 60 km/h.**" in quote_passage(c, 1024)


def test_a_long_passage_keeps_its_answer_span_visible() -> None:
    passage = "x " * 2000 + "The answer is 42." + " y" * 2000
    start = passage.index("The answer")
    c = Citation(1, "a", "T", None, passage, 0, len(passage), 1.0, ((start, start + 17),))
    quoted = quote_passage(c, 1024)
    assert len(quoted) <= 1024
    assert "**The answer is 42.**" in quoted


def test_a_2000_character_answer_fits_the_embed() -> None:
    answer = _answer("q" * 500, "A" * 2000 + " [1]", ["p" * 3000] * 5, "t" * 400)
    embed = answer_embed(answer)
    assert_embed_within_limits(embed)
    assert embed.description and "[1]" in embed.description


def test_links_to_sources_have_no_preview() -> None:
    embed = answer_embed(_answer("q", "a [1]", ["passage"], "Title"))
    assert "<https://example.org/a>" in (embed.fields[0].value or "")


def test_a_source_url_with_spaces_or_brackets_is_not_linked() -> None:
    c = _citation(1, "text", "Title", url="https://x.example/a b>")
    embed = answer_embed(Answer("q", "a [1]", False, (c,), {}, 1))
    assert "x.example" not in (embed.fields[0].value or "")


def test_thread_names_fit_discord() -> None:
    assert len(thread_name("why " * 100)) <= THREAD_NAME_MAX
    assert thread_name("   ") == "Question"


def test_message_text_is_never_empty_or_too_long() -> None:
    assert message_text("")
    assert len(message_text("x" * 5000)) <= CONTENT_MAX


def test_the_article_list_fits_with_many_long_titles() -> None:
    info = ArticleInfo("t1", "T" * 300 + " @everyone", "s" * 300, None, None, None, None, "", "h", 3, 10)
    embed = articles_page([info] * 50, page=4)
    assert_embed_within_limits(embed)
    assert not PING.search(embed.description or "")


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000)
_nasty = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<@123>",
        "<@&9>",
        "[x](https://evil.example)",
        "**",
        "`",
        "\\",
        "https://a.b/c",
        "> quote",
        "||spoiler||",
        "<#1>",
    ]
)
_mixed = st.lists(st.one_of(_text, _nasty), max_size=8).map("".join)


@settings(max_examples=200, deadline=None)
@given(question=_mixed, answer_text=_mixed, title=_mixed, passages=st.lists(_mixed, min_size=0, max_size=12))
def test_any_answer_builds_a_valid_harmless_embed(
    question: str, answer_text: str, title: str, passages: list[str]
) -> None:
    answer = _answer(question or "?", answer_text, passages, title or "t")
    embed = answer_embed(answer)
    assert_embed_within_limits(embed)
    for part in [embed.title or "", embed.description or "", *(f.name or "" for f in embed.fields)]:
        assert not PING.search(part)
        assert not MASKED_LINK.search(part)
    for f in embed.fields:
        body = (f.value or "").rsplit("\n<https://example.org/a>", 1)[0]
        assert_harmless(body)


@settings(max_examples=100, deadline=None)
@given(text=_mixed)
def test_escaped_text_never_pings_or_links(text: str) -> None:
    assert_harmless(escape(text))


def test_an_unsure_answer_says_so_before_the_answer_and_in_the_footer() -> None:
    c = _citation(1, "The train travels at about 60 km/h.", "Train")
    unsure = Answer("q", "About 60 km/h. [1]", False, (c,), {}, 1, confidence=0.31, label="unsure")
    embed = answer_embed(unsure)
    assert (embed.description or "").startswith("**Not sure:** About 60 km/h.")
    assert "not sure (31%)" in (embed.footer.text or "")
    sure = answer_embed(Answer("q", "About 60 km/h. [1]", False, (c,), {}, 1, confidence=0.9, label="sure"))
    assert "Not sure" not in (sure.description or "")
    assert "sure (90%)" in (sure.footer.text or "")


@settings(max_examples=60, deadline=None)
@given(url_length=st.integers(min_value=20, max_value=2000), passage=_mixed)
def test_a_source_of_any_url_length_fits_every_answer_form(url_length: int, passage: str) -> None:
    url = "https://example.org/a?" + "x" * max(0, url_length - 22)
    cites = tuple(_citation(n, passage or "p", f"Title {n}", url) for n in (1, 2, 3))
    answer = Answer("How?", "It works [1] [2].", False, cites, {"total": 12.0}, 3)
    for embed in (answer_embed(answer), answer_embed(answer, passages_only=True), compact_embed(answer)):
        assert_embed_within_limits(embed)
        assert all("**" in (f.value or "") for f in embed.fields[:2])  # the quote is still there
    assert len(answer_text(answer)) <= CONTENT_MAX
    shown = url in (answer_embed(answer).fields[0].value or "")
    assert shown == (len(url) <= LINK_MAX)  # a link is shown whole or not at all


def test_clip_to_nothing_or_one_character() -> None:
    assert clip("abc", 0) == ""
    assert clip("abc", 1) == "…"
    assert clip("abc", -5) == ""
