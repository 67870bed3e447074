"""Turn uploaded or fetched bytes (HTML, PDF, text, Markdown) into clean text and metadata."""

from __future__ import annotations

import codecs
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath

import pypdf

from retrieval.errors import CitebotError, EmptyContent, TooLarge, UnsupportedContent
from retrieval.pages import clean_title, headline, page_text

log = logging.getLogger(__name__)

EXTENSION_KINDS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
TYPE_KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "application/pdf": "pdf",
}
_SUPPORTED = "supported: .txt, .md, .html, .htm, .pdf"
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_KIND_NAMES = {"text": "text", "markdown": "Markdown text", "html": "HTML", "pdf": "a PDF"}
_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"OggS", "an audio or video file"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Bytes of HTML allowed per character of max_chars before parsing is not worth trying.
_HTML_BYTES_PER_CHAR = 10
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MD_TITLE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.I)


@dataclass(frozen=True)
class ExtractedText:
    """Readable text pulled from a document, with whatever metadata it carried."""

    text: str
    title: str | None
    author: str | None
    date: str | None
    kind: str


def extract(
    data: bytes,
    *,
    content_type: str | None = None,
    filename: str | None = None,
    url: str | None = None,
    max_chars: int = 2_000_000,
) -> ExtractedText:
    """Extract normalised text and metadata from a document's bytes."""
    label = filename or url or "the file"
    media, charset = _parse_content_type(content_type)
    kind = _decide_kind(media, filename, label, data)
    if not data or data.isspace():
        raise EmptyContent(f"{label} is empty")
    _check_signature(data, kind, label)
    if kind == "pdf":
        result = _extract_pdf(data, label, max_chars)
    elif kind == "html":
        result = _extract_html(data, charset, url, label, max_chars)
    else:
        result = _extract_text(data, charset, kind, label, max_chars)
    if not result.text:
        raise EmptyContent(f"{label} has no readable text")
    _check_length(len(result.text), max_chars, label)
    log.debug("extracted %d chars of %s from %s", len(result.text), kind, label)
    return result


def normalize_text(text: str) -> str:
    """Normalise Unicode and whitespace while keeping blank lines between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _parse_content_type(content_type: str | None) -> tuple[str, str | None]:
    if not content_type:
        return "", None
    media, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(" \"'"):
            charset = value.strip(" \"'")
    return media.strip().lower(), charset


def _decide_kind(media: str, filename: str | None, label: str, data: bytes) -> str:
    ext = PurePosixPath(filename).suffix.lower() if filename else ""
    head = data[:1024].lstrip().lower()
    if media in TYPE_KINDS:
        kind = TYPE_KINDS[media]
        if kind == "text" and head.startswith((b"<!doctype html", b"<html")):
            return "html"  # a page served as text/plain is still a page: its markup is not its text
        # Chat platforms often label Markdown uploads text/plain.
        return "markdown" if kind == "text" and ext in (".md", ".markdown") else kind
    if ext:
        if ext in EXTENSION_KINDS:
            return EXTENSION_KINDS[ext]
        raise UnsupportedContent(f"{label} is not a supported file type ({_SUPPORTED})")
    if media not in _GENERIC_TYPES:
        raise UnsupportedContent(f"{label} is {media}, which citebot cannot read ({_SUPPORTED})")
    if head.startswith(b"%pdf-"):
        return "pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def _check_signature(data: bytes, kind: str, label: str) -> None:
    """Refuse bytes whose content contradicts the claimed kind."""
    for magic, what in _SIGNATURES:
        if data.startswith(magic) and not (kind == "pdf" and magic == b"%PDF-"):
            raise UnsupportedContent(f"{label} looks like {what}, not {_KIND_NAMES[kind]}")
    if data[4:8] == b"ftyp":
        raise UnsupportedContent(f"{label} looks like a video or image, not {_KIND_NAMES[kind]}")
    if kind == "pdf":
        if b"%PDF-" not in data[:1024]:
            raise UnsupportedContent(f"{label} does not look like a PDF (it has no PDF header)")
    elif not data.startswith(_UTF16_BOMS) and b"\x00" in data:
        raise UnsupportedContent(f"{label} looks like a binary file, not {_KIND_NAMES[kind]}")


def _check_length(length: int, max_chars: int, label: str) -> None:
    if length > max_chars:
        raise TooLarge(f"{label} has {length:,} characters of text; the limit is {max_chars:,}")


def _extract_text(data: bytes, charset: str | None, kind: str, label: str, max_chars: int) -> ExtractedText:
    # No supported encoding needs more than 4 bytes per character: anything bigger cannot fit.
    if len(data) > 4 * max_chars:
        raise TooLarge(f"{label} is {len(data):,} bytes, too big for the {max_chars:,}-character limit")
    raw = decode_text(data, charset, label)
    if len(raw) > 2 * max_chars:  # too long even after whitespace clean-up; skip the work
        _check_length(len(raw), max_chars, label)
    text = normalize_text(raw)
    title = None
    if kind == "markdown" and (match := _MD_TITLE.search(text)):
        title = match.group(1).strip() or None
    return ExtractedText(text=text, title=title, author=None, date=None, kind=kind)


def decode_text(data: bytes, charset: str | None, label: str) -> str:
    """Decode plain text (UTF-8 or UTF-16 with a mark, the declared charset, cp1252), or refuse it."""
    if data.startswith(_UTF16_BOMS):
        candidates = ["utf-16"]
    elif data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8", *([charset] if charset else [])]
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise UnsupportedContent(
            f"{label} is not in a text encoding citebot can read; save it as UTF-8"
        ) from exc
    if _CONTROL.search(text):
        raise UnsupportedContent(f"{label} is not in a text encoding citebot can read; save it as UTF-8")
    return text


def _decode_html(data: bytes, charset: str | None) -> str:
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16", errors="replace")
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig", errors="replace")
    declared = _META_CHARSET.search(data[:4096])
    for encoding in (charset, declared and declared.group(1).decode("ascii"), "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
    return data.decode("cp1252", errors="replace")


def _extract_html(
    data: bytes, charset: str | None, url: str | None, label: str, max_chars: int
) -> ExtractedText:
    if len(data) > _HTML_BYTES_PER_CHAR * max_chars:
        raise TooLarge(
            f"{label} is {len(data):,} bytes of HTML, too big for the {max_chars:,}-character limit"
        )
    markup = _decode_html(data, charset)
    doc, body = page_text(markup, url)
    text = normalize_text(body)
    title = clean_title(_clean(doc.title), doc.sitename, headline(markup))
    if not text or not title:
        fallback = _BodyText.render(markup)
        title = title or clean_title(_clean(fallback.title))
    if not text:
        log.debug("trafilatura found nothing in %s; using the plain body text", label)
        text = normalize_text(fallback.text)
    if not text:
        raise EmptyContent(f"{label} has no readable text (the page may need JavaScript)")
    date = _clean(doc.date)
    return ExtractedText(
        text=text,
        title=title,
        author=_clean(doc.author),
        date=date if date and _ISO_DATE.match(date) else None,
        kind="html",
    )


class _BodyText(HTMLParser):
    """Plain-text rendering of a page's visible body, used when trafilatura finds nothing."""

    _HIDDEN = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
    _BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "table",
            "section",
            "article",
            "blockquote",
            "pre",
            "hr",
            "header",
            "footer",
            "main",
            "nav",
            "aside",
            "dl",
            "dt",
            "dd",
            "figure",
            "figcaption",
            "form",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._hidden = 0
        self._in_title = False

    @classmethod
    def render(cls, markup: str) -> _BodyText:
        parser = cls()
        parser.feed(markup)
        parser.close()
        return parser

    @property
    def text(self) -> str:
        return re.sub(r" *\n *", "\n", "".join(self.parts))

    @property
    def title(self) -> str:
        return " ".join("".join(self.title_parts).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif not self._hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def _extract_pdf(data: bytes, label: str, max_chars: int) -> ExtractedText:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedContent(f"{label} is a password-protected PDF")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            page_text = page.extract_text() or ""
            total += len(page_text)
            # Stop early rather than extract a huge document only to refuse it.
            _check_length(total, max_chars, label)
            pages.append(page_text)
        meta = reader.metadata
        title = _clean(meta.title) if meta else None
        author = _clean(meta.author) if meta else None
        date = _pdf_date(meta)
    except CitebotError:
        raise
    except Exception as exc:  # pypdf raises many exception types on malformed input
        raise UnsupportedContent(f"could not read this PDF: {label} looks damaged ({exc})") from exc
    text = normalize_text("\n\n".join(pages))
    if not text:
        raise EmptyContent(f"{label}: the PDF has no extractable text (scanned?)")
    return ExtractedText(text=text, title=title, author=author, date=date, kind="pdf")


def _pdf_date(meta: pypdf.DocumentInformation | None) -> str | None:
    if meta is None:
        return None
    try:
        created = meta.creation_date
    except (ValueError, TypeError):  # malformed /CreationDate strings
        return None
    return created.date().isoformat() if created else None


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
