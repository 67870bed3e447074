"""Whole articles from web pages: a body split by ads kept whole, and titles without site names."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import trafilatura
from trafilatura.settings import Document

# When the precise pass keeps less than this share of the page's paragraph text, a block inside
# the body (an ad, a newsletter box, a related-links list) probably made it stop early.
RECALL_BELOW = 0.6
# The recall pass is taken only when it keeps this much more text than the precise one.
RECALL_GAIN = 1.2
_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|/)\s+")
_SITE_PREFIX = re.compile(r"^([^:|]{2,40}):\s+(.+)$")
_SECTIONS = frozenset(
    [
        "opinion",
        "analysis",
        "review",
        "editorial",
        "commentary",
        "perspective",
        "live",
        "exclusive",
        "explainer",
        "interview",
        "letters",
        "obituary",
        "podcast",
        "video",
        "news",
        "world",
        "business",
        "tech",
        "technology",
        "science",
        "politics",
        "sport",
        "sports",
        "culture",
        "travel",
        "health",
        "opinions",
        "column",
        "features",
        "feature",
    ]
)
_SECTION_PREFIX = re.compile(r"^([A-Za-z][A-Za-z ]{1,24}?)\s*(?:\||:|—|–)\s+(.+)$")
_SITE_WORDS = 4  # a trailing title segment this short, after " | ", is taken for a site name


def page_text(markup: str, url: str | None) -> tuple[Document, str]:
    """Return the page's metadata and body text, one blank line between blocks."""
    doc = _bare(markup, url, recall=False)
    text = _blocks(doc)
    if len(text) < RECALL_BELOW * paragraph_chars(markup):
        recall = _bare(markup, url, recall=True)
        fuller = _blocks(recall)
        if len(fuller) > RECALL_GAIN * len(text):
            text = fuller
    return doc, text


def _bare(markup: str, url: str | None, *, recall: bool) -> Document:
    # bare_extraction only parses the markup it is given; it never downloads anything.
    doc = trafilatura.bare_extraction(
        markup,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        favor_precision=not recall,
        favor_recall=recall,
        # A date from the page's markup (meta tags, <time>, the URL), never guessed from its text:
        # an article that mentions 1997 was not published then.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    return doc if isinstance(doc, Document) else Document()


def _blocks(doc: Document) -> str:
    # trafilatura puts one block per line; the chunker wants blank lines between them.
    return (doc.text or "").replace("\n", "\n\n").strip()


def paragraph_chars(markup: str) -> int:
    """Return how many characters of text the page's paragraphs hold (outside nav, aside, footer)."""
    counter = _ParagraphText()
    counter.feed(markup)
    counter.close()
    return counter.chars


class _ParagraphText(HTMLParser):
    _SKIP = frozenset({"script", "style", "nav", "aside", "footer", "header", "form", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars = 0
        self.h1: list[str] = []
        self._skip = 0
        self._in_p = 0
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "p":
            self._in_p += 1
        elif tag == "h1":
            self._in_h1 = True
            self.h1.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "p":
            self._in_p = max(0, self._in_p - 1)
        elif tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_p:
            self.chars += len(" ".join(data.split()))
        if self._in_h1 and self.h1:
            self.h1[-1] += data


def headline(markup: str) -> str | None:
    """Return the text of the page's first <h1>, if it has one."""
    parser = _ParagraphText()
    parser.feed(markup)
    parser.close()
    return next((" ".join(h.split()) for h in parser.h1 if h.strip()), None)


def clean_title(title: str | None, site: str | None = None, h1: str | None = None) -> str | None:
    """Return an article title without the site's name or a section label ("Opinion |").

    The page's own headline wins when the title merely wraps it; otherwise a segment naming
    the site (" | Site", " - Site", " — Site", "Site: ") and a leading section label are dropped.
    """
    if not title:
        return h1 or None
    title = _drop_section(" ".join(title.split()))
    if h1 and len(h1) >= 8 and h1.casefold() in title.casefold():
        return _drop_section(h1)
    names = _site_names(site)
    pieces = _SEPARATORS.split(title)
    seps = _SEPARATORS.findall(title)
    while len(pieces) > 1 and pieces[-1].casefold() in names:
        pieces, seps = pieces[:-1], seps[:-1]
    while len(pieces) > 1 and pieces[0].casefold() in names:
        pieces, seps = pieces[1:], seps[1:]
    if len(pieces) > 1 and seps[-1].strip() == "|" and len(pieces[-1].split()) <= _SITE_WORDS:
        pieces, seps = pieces[:-1], seps[:-1]  # "Headline | Inexhibit": a short segment after a bar
    title = pieces[0] + "".join(s + p for s, p in zip(seps, pieces[1:], strict=True))
    prefixed = _SITE_PREFIX.match(title)
    if prefixed and prefixed.group(1).casefold() in names:
        title = prefixed.group(2)
    return _drop_section(title)


def _drop_section(title: str) -> str:
    match = _SECTION_PREFIX.match(title)
    if match and match.group(1).strip().casefold() in _SECTIONS:
        return match.group(2)
    return title


def _site_names(site: str | None) -> set[str]:
    if not site:
        return set()
    bare = site.strip().casefold()
    names = {bare, bare.removeprefix("www."), bare.removeprefix("the ")}
    return names | {n.rsplit(".", 1)[0] for n in names if "." in n}
