"""Turn user sources (URLs, files, directories, stdin, pasted text) into SourceDocuments."""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urlsplit, urlunsplit

from retrieval.errors import EmptyContent, InvalidInput, NotFound, TooLarge
from retrieval.models import SourceDocument

if TYPE_CHECKING:
    from config.settings import LimitSettings
    from retrieval.fetch import FetchedPage, Fetcher

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
_KEEP = "/%:@!$&'()*+,;=?~[]"  # characters a URL keeps as they are


def canonical_url(url: str) -> str:
    """Return a canonical form of an http(s) URL: lower-case host, no fragment or tracking."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    # Only tracking parameters go; the others stay as written ("?print", "id=", "a%20b"), with what
    # a link cannot hold (spaces, non-ASCII letters) percent-encoded.
    query = "&".join(
        quote(p, safe=_KEEP)
        for p in parts.query.split("&")
        if p and not unquote_plus(p.partition("=")[0]).lower().startswith(_TRACKING)
    )
    path = quote(parts.path or "/", safe=_KEEP)
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def url_key(url: str) -> str:
    """Return the form of a canonical URL that names its article: one spelling of its query.

    "a%20b", "a+b" and "a b" name one article, as before URLs were kept as written; so do the
    articles stored then, whose URLs were kept in this form.
    """
    parts = urlsplit(url)
    query = urlencode(parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def is_url(source: str) -> bool:
    """Tell whether a source string is a URL rather than a path."""
    return source.lower().startswith(("http://", "https://")) or "://" in source[:12]


def from_text(
    text: str, title: str | None, limits: LimitSettings, source: str = "pasted text"
) -> SourceDocument:
    """Make a document from pasted text (normalised like extracted text)."""
    from retrieval.extract import normalize_text

    if len(text) > limits.max_article_chars:
        raise TooLarge(f"the text has {len(text):,} characters; the limit is {limits.max_article_chars:,}")
    clean = normalize_text(text)
    if not clean:
        raise EmptyContent("the text is empty")
    first_line = clean.split("\n", 1)[0].lstrip("# ").strip()
    return SourceDocument(text=clean, title=_title(limits, title, first_line[:80]), source=source)


def from_bytes(data: bytes, filename: str, title: str | None, limits: LimitSettings) -> SourceDocument:
    """Make a document from the bytes of an uploaded or local file."""
    from retrieval.extract import extract  # trafilatura and pypdf load only when needed

    if len(data) > limits.max_file_bytes:
        raise TooLarge(f"{filename} is {len(data):,} bytes; the limit is {limits.max_file_bytes:,}")
    got = extract(data, filename=filename, max_chars=limits.max_article_chars)
    name = printable(filename)  # a file name may hold bytes that are not text, or control characters
    return SourceDocument(
        text=got.text,
        title=_title(limits, title, got.title, Path(name).stem),
        source=name,
        author=got.author,
        date=got.date,
    )


def from_url(url: str, fetcher: Fetcher, title: str | None, limits: LimitSettings) -> SourceDocument:
    """Fetch a URL and make a document from it."""
    page = fetcher.fetch(url)
    return _from_page(url, page, title, limits, _now())


def refetch_url(
    url: str,
    fetcher: Fetcher,
    limits: LimitSettings,
    *,
    etag: str | None,
    last_modified: str | None,
    now: str,
) -> SourceDocument | None:
    """Fetch a URL again, conditionally; None when the server says it has not changed (304)."""
    page = fetcher.fetch(url, etag=etag, last_modified=last_modified)
    return None if page.not_modified else _from_page(url, page, None, limits, now)


def _from_page(
    url: str, page: FetchedPage, title: str | None, limits: LimitSettings, now: str
) -> SourceDocument:
    from retrieval.extract import extract

    content_type = f"{page.content_type}; charset={page.charset}" if page.charset else page.content_type
    got = extract(
        page.body, content_type=content_type, url=page.final_url, max_chars=limits.max_article_chars
    )
    canonical = canonical_url(url)
    return SourceDocument(
        text=got.text,
        title=_title(limits, title, got.title, canonical),
        source=canonical,
        url=canonical,
        author=got.author,
        date=got.date,
        fetched_at=now,
        etag=page.etag,
        last_modified=page.last_modified,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def from_path(path: Path, title: str | None, limits: LimitSettings) -> SourceDocument:
    """Read one local file and make a document from it."""
    try:
        status = path.stat()
    except FileNotFoundError as exc:
        raise NotFound(f"{path}: no such file or directory") from exc
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read it ({exc.strerror})") from exc
    if not stat.S_ISREG(status.st_mode):  # a pipe or a device would block or never end
        raise InvalidInput(f"{path}: not a regular file")
    size = status.st_size
    if size > limits.max_file_bytes:
        raise TooLarge(f"{path.name} is {size:,} bytes; the limit is {limits.max_file_bytes:,}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read it ({exc.strerror})") from exc
    doc = from_bytes(data, path.name, title, limits)
    return replace(doc, key=path.resolve().as_uri())  # the same file added again updates its article


def walk_directory(path: Path) -> Iterator[Path]:
    """Yield the supported files below a directory, recursively, in a stable order."""
    for child in sorted(path.rglob("*")):
        if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES and not child.name.startswith("."):
            yield child


def _title(limits: LimitSettings, *candidates: str | None) -> str:
    """Return the first candidate that is not blank once made printable, clipped to the limit."""
    title = next((t for t in map(printable, candidates) if t), "Untitled")
    if len(title) > limits.max_title_chars:
        title = title[: limits.max_title_chars - 1].rstrip() + "…"
    return title


# Control characters (a terminal escape in a title clears the screen where it is printed) and the
# direction overrides that can make a title read as another.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str | None) -> str:
    """Return text as one printable line: undecodable bytes as U+FFFD, no control characters."""
    if not text:
        return ""
    try:  # a name read from the file system keeps bytes that are not UTF-8 as lone surrogates
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join(_UNPRINTABLE.sub(lambda m: " " if m.group() in "\t\n\r\x0b\x0c" else "", text).split())


# A chat message's permanent link (Discord's "Copy Message Link"): what cites a message article.
MESSAGE_LINK = re.compile(r"^https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/\d+/\d+/\d+$")
MIN_MESSAGE_CHARS = 20


def is_message_link(url: str | None) -> bool:
    """Tell whether a URL is a chat message's link (such an article cannot be fetched again)."""
    return bool(url and MESSAGE_LINK.match(url))


def from_message(
    text: str, *, author: str, date: str | None, link: str, where: str, limits: LimitSettings
) -> SourceDocument:
    """Make a document from a chat message (a helper's good reply, say), cited by the message's link."""
    if not is_message_link(link):
        raise InvalidInput(f"{link!r} is not a message link")
    words = " ".join(text.split())
    if len(words) < MIN_MESSAGE_CHARS:
        raise InvalidInput(
            f"that message is too short to be an article ({len(words)} characters; "
            f"at least {MIN_MESSAGE_CHARS})"
        )
    head = words if len(words) <= 60 else words[:59].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"  # at a word
    doc = from_text(text, f"{author} in #{where}: {head}", limits, source=f"message by {author} in #{where}")
    return replace(doc, url=link, author=author, date=date)
