"""Turn answers and article lists into Discord messages that respect every platform limit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import discord

from retrieval.models import Answer, ArticleInfo, Citation

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
THREAD_NAME_MAX = 100
# A longer link (tracking or session URLs) is not shown: next to a quote it would not fit a
# field's 1,024 characters, and cut it would not work. The title still names the article.
LINK_MAX = 300
ELLIPSIS = "…"
NO_PINGS = discord.AllowedMentions.none()

_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()<#])")
_LINK = re.compile(r"(?i)\b(https?|ftp|discord|steam)://")


def escape(text: str) -> str:
    """Escape markdown, defuse links and mentions in text that came from an article or a user."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _LINK.sub(lambda m: m.group(1) + ":\u200b//", text)
    return text.replace("@", "@\u200b")


def clip(text: str, limit: int) -> str:
    """Cut text to at most limit characters, ending with … when cut (never mid-escape)."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1].rstrip()
    while cut.endswith(("\\", "\u200b")):
        cut = cut[:-1]
    return cut + ELLIPSIS


def plain(text: str, limit: int) -> str:
    """Escape then clip (the usual treatment of untrusted text)."""
    return clip(escape(" ".join(text.split())), limit)


def link(url: str | None) -> str:
    """Return a URL wrapped in <> so Discord shows no preview, or '' for none (or one too long to show)."""
    if not url or not url.lower().startswith(("http://", "https://")) or any(c in url for c in " <>\n"):
        return ""
    if len(url) > LINK_MAX:
        return ""
    return f"<{url}>"


def _tail(text: str, limit: int) -> str:
    """Keep the last limit characters of escaped text, led by … when cut."""
    if len(text) <= limit:
        return text
    start = len(text) - limit + 1
    if text[start - 1] == "\\":  # never orphan an escaped character
        start += 1
    return ELLIPSIS + text[start:]


def quote_passage(c: Citation, limit: int) -> str:
    """Quote a passage with its answer sentences in bold, windowed to fit limit characters."""
    if not c.highlights:
        return "> " + plain(c.passage, limit - 2)
    lo = min(start for start, _ in c.highlights)  # one bold run from the first sentence to the last
    hi = max(end for _, end in c.highlights)
    before = escape(" ".join(c.passage[:lo].split()))
    mark = plain(c.passage[lo:hi], max(40, (limit - 8) // 2))
    after = escape(" ".join(c.passage[hi:].split()))
    room = limit - 8 - len(mark)  # "> ", two "**", two spaces
    keep_before = min(len(before), max(room // 2, room - len(after)))
    before = _tail(before, keep_before) if keep_before > 0 else (ELLIPSIS if before else "")
    after = clip(after, max(1, room - len(before))) if after else ""
    body = " ".join(part for part in (before, f"**{mark}**", after) if part)
    return "> " + clip(body, limit - 2)


NOT_SURE = "**Not sure:** "


def confidence_note(answer: Answer) -> str:
    """Return the footer's " · sure (84%)" note, or nothing when the answer has no confidence."""
    if answer.confidence is None:
        return ""
    return f" · {'sure' if answer.label == 'sure' else 'not sure'} ({answer.confidence:.0%})"


def answer_embed(
    answer: Answer,
    *,
    asked_by: str | None = None,
    start_at: int = 0,
    writing: bool = False,
    passages_only: bool = False,
) -> discord.Embed:
    """Build the embed for an answer: question, answer, numbered quoted sources, footer."""
    colour = discord.Colour.light_grey() if answer.abstained else discord.Colour.blurple()
    embed = discord.Embed(title=plain(answer.question, TITLE_MAX), colour=colour)
    if passages_only:
        embed.description = "The full passages for this question; the answer's sources come first."
    elif start_at:
        embed.description = f"Further passages for this question (sources {start_at + 1} and on)."
    elif answer.abstained:
        embed.description = clip(
            "I couldn't find that in the articles of this server. "
            "Editors can add articles with `/add`; `/sources` lists what I know.",
            DESCRIPTION_MAX,
        )
    else:
        # An unsure answer says so first: the passages below are there to check it.
        mark = NOT_SURE if answer.label == "unsure" else ""
        embed.description = clip(
            mark + escape(answer.answer).replace("\\[", "[").replace("\\]", "]"), DESCRIPTION_MAX
        )
    for c in answer.citations[start_at : start_at + 10]:
        url = link(c.url)
        name = clip(f"[{c.n}] {escape(' '.join(c.title.split())) or 'Untitled'}", FIELD_NAME_MAX)
        tail = f"\n{url}{fetched_note(c.fetched_at)}" if url else ""
        value = quote_passage(c, FIELD_VALUE_MAX - len(tail)) + tail
        embed.add_field(name=name, value=value, inline=False)
    seconds = answer.timings_ms.get("total", 0.0) / 1000
    who = f"Asked by {asked_by} · " if asked_by else ""
    searched = count(answer.articles_searched, "article")
    status = (
        f"· {answer.answered_by} is writing…" if writing else f"in {seconds:.2f} s · {answer.answered_by}"
    )
    if not start_at and not passages_only:
        status += confidence_note(answer)
    footer = f"Searched {searched}" if passages_only else f"{who}Searched {searched} {status}"
    embed.set_footer(text=clip(footer, FOOTER_MAX))
    return fit(embed)


def fit(embed: discord.Embed) -> discord.Embed:
    """Shrink field values, then the description, until the embed is within 6000 characters."""
    while len(embed) > EMBED_TOTAL_MAX and embed.fields:
        excess = len(embed) - EMBED_TOTAL_MAX
        index = max(range(len(embed.fields)), key=lambda i: len(embed.fields[i].value or ""))
        field = embed.fields[index]
        value = field.value or ""
        if len(value) <= 60:
            embed.remove_field(len(embed.fields) - 1)
            continue
        embed.set_field_at(
            index, name=field.name, value=clip(value, max(60, len(value) - excess - 1)), inline=False
        )
    if len(embed) > EMBED_TOTAL_MAX and embed.description:
        embed.description = clip(
            embed.description, max(1, len(embed.description) - (len(embed) - EMBED_TOTAL_MAX))
        )
    return embed


def articles_page(articles: Sequence[ArticleInfo], page: int, per_page: int = 10) -> discord.Embed:
    """Build one page of the server's article list."""
    pages = max(1, (len(articles) + per_page - 1) // per_page)
    page = min(max(page, 0), pages - 1)
    embed = discord.Embed(title=f"Articles in this server ({len(articles)})", colour=discord.Colour.blurple())
    lines = []
    for a in articles[page * per_page : (page + 1) * per_page]:
        where = link(a.url) or plain(a.source, 80)
        if a.url:
            where += fetched_note(a.fetched_at) + (GONE_NOTE.format(a.vanished) if a.flagged else "")
        lines.append(clip(f"`{a.id}` **{plain(a.title, 120)}** · {count(a.chunks, 'passage')}\n{where}", 390))
    embed.description = clip(
        "\n".join(lines) or "No articles yet. Editors can add one with `/add`.", DESCRIPTION_MAX
    )
    embed.set_footer(text=f"Page {page + 1} of {pages}")
    return embed


GONE_NOTE = "\n⚠️ **gone**: its page answered 404/410 at the last {} fetches (kept; check or `/remove` it)"


def fetched_note(fetched_at: str | None) -> str:
    """Return " · fetched <t:…:R>", which Discord shows as "fetched 3 days ago", or "" if unknown."""
    if not fetched_at:
        return ""
    try:
        when = datetime.fromisoformat(fetched_at)
    except ValueError:
        return ""
    stamp = int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    return f" · fetched <t:{stamp}:R>"


def count(n: int, noun: str) -> str:
    """Return "1 passage", "2 passages"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def thread_name(question: str) -> str:
    """Return a thread name (1-100 characters) made from a question."""
    name = " ".join(question.split()) or "Question"
    return clip(name, THREAD_NAME_MAX)


def message_text(text: str) -> str:
    """Clip plain message content to Discord's 2000 characters (never empty)."""
    return clip(text, CONTENT_MAX) or "…"
