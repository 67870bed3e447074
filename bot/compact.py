"""Short answers: quote only the cited passages, trimmed to the answer sentence; list the rest.

The full passages stay one click away, behind "More sources" (bot.render.answer_embed).
"""

from __future__ import annotations

import re
from typing import Literal

import discord

from bot.render import (
    CONTENT_MAX,
    DESCRIPTION_MAX,
    ELLIPSIS,
    FIELD_VALUE_MAX,
    FOOTER_MAX,
    NOT_SURE,
    TITLE_MAX,
    answer_embed,
    clip,
    confidence_note,
    count,
    escape,
    fetched_note,
    fit,
    link,
    plain,
)
from retrieval.models import Answer, Citation

Style = Literal["compact", "full"]
STYLES: tuple[Style, ...] = ("compact", "full")
CONTEXT_CHARS = 40  # context kept on each side of the answer sentence (a few words, cut at a word)
LINE_TITLE_CHARS = 60  # titles in compact answers are clipped to this (the full title is under More sources)
ABSTAINED = (
    "I couldn't find that in the articles of this server. "
    "Editors can add articles with `/add`; `/sources` lists what I know."
)
_MARKER = re.compile(r"\[(\d{1,2})\]")


def cited_numbers(answer: Answer) -> set[int]:
    """Return the [n] numbers the answer text cites."""
    return {int(n) for n in _MARKER.findall(answer.answer)} if not answer.abstained else set()


def _words_before(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = cut.find(" ")
    return ELLIPSIS + (cut[space + 1 :] if 0 <= space < len(cut) - 1 else cut)


def _words_after(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut) + ELLIPSIS


def excerpt(c: Citation, context: int = CONTEXT_CHARS, limit: int = FIELD_VALUE_MAX) -> str:
    """Quote a cited passage: its answer sentences in bold with a few words either side."""
    if not c.highlights:
        return "> " + escape(_words_after(c.passage, 3 * context))
    lo = min(start for start, _ in c.highlights)
    hi = max(end for _, end in c.highlights)
    mark = plain(c.passage[lo:hi], max(40, limit - 2 * context - 16))
    before = escape(_words_before(c.passage[:lo], context))
    after = escape(_words_after(c.passage[hi:], context))
    body = " ".join(part for part in (before, f"**{mark}**", after) if part)
    return "> " + clip(body, limit - 2)


def source_line(c: Citation, earlier: tuple[Citation, ...] = ()) -> str:
    """Return one line for a source the answer does not quote: [n] title and link.

    A passage of an article already listed above names that source instead of repeating its title.
    """
    same = next((e for e in earlier if e.article_id == c.article_id and e.n != c.n), None)
    if same is not None:
        return f"[{c.n}] another passage of [{same.n}]"
    title = plain(c.title, LINE_TITLE_CHARS) or "Untitled"
    url = link(c.url)
    return f"[{c.n}] {title}" + (f" · {url}{fetched_note(c.fetched_at)}" if url else "")


def compact_embed(answer: Answer, *, asked_by: str | None = None, writing: bool = False) -> discord.Embed:
    """Build the compact answer embed: answer, cited quotes, one line per other source, footer."""
    colour = discord.Colour.light_grey() if answer.abstained else discord.Colour.blurple()
    embed = discord.Embed(title=plain(answer.question, TITLE_MAX), colour=colour)
    embed.description = clip(_answer_text(answer), DESCRIPTION_MAX)
    cited = cited_numbers(answer)
    others: list[str] = []
    for c in answer.citations:
        if c.n in cited:
            tail = f"\n{link(c.url)}{fetched_note(c.fetched_at)}" if link(c.url) else ""
            name = f"[{c.n}] {plain(c.title, LINE_TITLE_CHARS) or 'Untitled'}"
            embed.add_field(
                name=name, value=excerpt(c, limit=FIELD_VALUE_MAX - len(tail)) + tail, inline=False
            )
        elif not answer.abstained:
            others.append(source_line(c, tuple(e for e in answer.citations if e.n < c.n)))
    if others:
        embed.add_field(name="Other sources", value=clip("\n".join(others), FIELD_VALUE_MAX), inline=False)
    embed.set_footer(text=clip(footer(answer, asked_by, writing), FOOTER_MAX))
    return fit(embed)


def footer(answer: Answer, asked_by: str | None, writing: bool = False) -> str:
    """Return the footer line: who asked, how much was searched, how long it took, by what."""
    seconds = answer.timings_ms.get("total", 0.0) / 1000
    who = f"Asked by {asked_by} · " if asked_by else ""
    searched = count(answer.articles_searched, "article")
    status = (
        f"· {answer.answered_by} is writing…" if writing else f"in {seconds:.2f} s · {answer.answered_by}"
    )
    return f"{who}Searched {searched} {status}{confidence_note(answer)}"


def _answer_text(answer: Answer) -> str:
    if answer.abstained:
        return ABSTAINED
    mark = NOT_SURE if answer.label == "unsure" else ""
    return mark + escape(answer.answer).replace("\\[", "[").replace("\\]", "]")


def styled_embed(
    answer: Answer, style: Style, *, asked_by: str | None = None, writing: bool = False
) -> discord.Embed:
    """Render an answer in a server's style: compact (the default) or full passages."""
    if style == "full":
        return answer_embed(answer, asked_by=asked_by, writing=writing)
    return compact_embed(answer, asked_by=asked_by, writing=writing)


def answer_text(answer: Answer, *, asked_by: str | None = None) -> str:
    """Render an answer as plain message text, for channels where citebot may not embed links."""
    lines = [f"**{plain(answer.question, TITLE_MAX)}**", _answer_text(answer)]
    cited = cited_numbers(answer)
    for c in answer.citations:
        if c.n in cited:
            url = link(c.url)
            note = f" · {url}{fetched_note(c.fetched_at)}" if url else ""
            lines.append(f"[{c.n}] {plain(c.title, LINE_TITLE_CHARS)}{note}")
            lines.append(excerpt(c, limit=600))
        elif not answer.abstained:
            lines.append(source_line(c, tuple(e for e in answer.citations if e.n < c.n)))
    lines.append(f"-# {footer(answer, asked_by)}")
    return clip("\n".join(lines), CONTENT_MAX)
