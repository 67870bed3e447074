"""Tests for retrieval.extract: kinds, sniffing, decoding, normalisation and refusals."""

from __future__ import annotations

import io
import time

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.errors import EmptyContent, TooLarge, UnsupportedContent
from retrieval.extract import extract, normalize_text
from tests.conftest_netguard import NetGuard

ARTICLE = b"""<!doctype html>
<html><head>
<title>Trains of the North | Example News</title>
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2023-04-05T10:00:00Z">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article>
<h1>Trains of the North</h1>
<p>The armoured train travelled slowly across the border at night, carrying the delegation.</p>
<p>Officials said the journey took more than twenty hours because of the heavy carriages.</p>
<img src="http://203.0.113.5/pixel.png">
</article>
<footer>Copyright Example News</footer>
</body></html>
"""


def make_pdf(pages: list[str], info: dict[str, str] | None = None) -> bytes:
    """Build a minimal valid PDF whose pages show text in Helvetica."""
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    trailer = f"/Size {len(objects) + 1} /Root 1 0 R"
    if info:
        objects.append(("<< " + " ".join(f"/{k} ({v})" for k, v in info.items()) + " >>").encode())
        trailer = f"/Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer.encode(), xref)
    return bytes(out)


def blank_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- empty and binary input -------------------------------------------------------------


def test_empty_file_is_empty_content() -> None:
    with pytest.raises(EmptyContent, match=r"notes\.txt is empty"):
        extract(b"", filename="notes.txt")


def test_whitespace_only_file_is_empty_content() -> None:
    with pytest.raises(EmptyContent):
        extract(b" \n\t\r\n  \n", filename="notes.txt")


def test_bom_only_file_is_empty_content() -> None:
    with pytest.raises(EmptyContent):
        extract(b"\xef\xbb\xbf  \n", filename="notes.md")


def test_nul_bytes_mean_binary() -> None:
    with pytest.raises(UnsupportedContent, match="looks like a binary file, not text"):
        extract(b"hello\x00world\x01\x02", filename="notes.txt")


def test_png_named_txt_is_caught_by_sniffing() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
    with pytest.raises(UnsupportedContent, match=r"notes\.txt looks like a PNG image, not text"):
        extract(png, filename="notes.txt")


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP archive"),
        (b"\x7fELF\x02\x01\x01", "ELF executable"),
        (b"GIF89a\x01\x00", "GIF image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"\x1f\x8b\x08\x00", "gzip archive"),
    ],
)
def test_other_binary_formats_named_md_are_refused(data: bytes, what: str) -> None:
    with pytest.raises(UnsupportedContent, match=what):
        extract(data, filename="readme.md")


def test_pdf_bytes_served_as_html_are_refused() -> None:
    with pytest.raises(UnsupportedContent, match="looks like a PDF document, not HTML"):
        extract(make_pdf(["Hi"]), content_type="text/html")


# --- choosing the kind -----------------------------------------------------------------


def test_unsupported_extension_names_it_and_the_supported_ones() -> None:
    with pytest.raises(UnsupportedContent) as caught:
        extract(b"whatever", filename="report.png")
    assert (
        str(caught.value)
        == "report.png is not a supported file type (supported: .txt, .md, .html, .htm, .pdf)"
    )


def test_unsupported_content_type_without_filename_names_the_type() -> None:
    with pytest.raises(UnsupportedContent, match="image/png"):
        extract(b"whatever", content_type="image/png", url="https://example.com/x")


def test_content_type_wins_over_generic_octet_stream_filename() -> None:
    result = extract(b"# Heading\n\nBody.", content_type="application/octet-stream", filename="a.md")
    assert result.kind == "markdown"


def test_text_plain_upload_named_md_is_markdown() -> None:
    result = extract(b"# Notes\n\nBody.", content_type="text/plain; charset=utf-8", filename="notes.md")
    assert (result.kind, result.title) == ("markdown", "Notes")


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b"<!DOCTYPE html><html><body><p>Hello page</p></body></html>", "html"), (b"just words", "text")],
)
def test_kind_is_sniffed_without_type_or_name(data: bytes, kind: str) -> None:
    assert extract(data).kind == kind


def test_pdf_is_sniffed_without_type_or_name() -> None:
    assert extract(make_pdf(["Sniffed text"])).kind == "pdf"


# --- text and markdown -------------------------------------------------------------------


def test_plain_text_is_normalised_and_keeps_paragraphs() -> None:
    data = b"First line   \r\nsame paragraph\r\n\r\n\r\n\r\n\r\nSecond paragraph.\t\r\n"
    result = extract(data, filename="a.txt")
    assert result.text == "First line\nsame paragraph\n\nSecond paragraph."
    assert (result.kind, result.title, result.author, result.date) == ("text", None, None, None)


def test_text_is_nfc_normalised() -> None:
    result = extract("cafe\u0301".encode(), filename="a.txt")
    assert result.text == "caf\u00e9"


def test_utf8_bom_is_removed() -> None:
    assert extract(b"\xef\xbb\xbfhello", filename="a.txt").text == "hello"


def test_utf16_with_bom_is_decoded() -> None:
    assert extract("h\u00e9llo".encode("utf-16"), filename="a.txt").text == "h\u00e9llo"


def test_charset_from_content_type_is_used_when_not_utf8() -> None:
    data = "\u043f\u0440\u0438\u0432\u0435\u0442".encode("koi8-r")
    result = extract(data, content_type="text/plain; charset=koi8-r")
    assert result.text == "\u043f\u0440\u0438\u0432\u0435\u0442"


def test_cp1252_is_tried_when_utf8_fails() -> None:
    assert (
        extract(b"caf\xe9 cr\xe8me \x93quoted\x94", filename="a.txt").text
        == "caf\u00e9 cr\u00e8me \u201cquoted\u201d"
    )


@pytest.mark.parametrize("data", [b"\x81\x8d\x8f\x90 bytes", b"abc\x1b[0m \xff\xfe"])
def test_undecodable_text_is_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedContent, match="save it as UTF-8"):
        extract(data, filename="a.txt")


def test_markdown_title_comes_from_first_heading() -> None:
    data = b"Intro line\n\n# The Real Title #\n\n## Section\n\nBody text."
    result = extract(data, filename="doc.markdown")
    assert (result.kind, result.title) == ("markdown", "The Real Title")
    assert "## Section" in result.text


def test_markdown_without_heading_has_no_title() -> None:
    assert extract(b"#hashtag is not a heading\n\ntext", filename="a.md").title is None


def test_text_over_max_chars_names_both_sizes() -> None:
    with pytest.raises(TooLarge, match=r"a\.txt has 1,500 characters of text; the limit is 1,000"):
        extract(b"x" * 1500, filename="a.txt", max_chars=1000)


def test_fifty_megabyte_single_line_fails_fast() -> None:
    data = b"a" * 50_000_000
    started = time.monotonic()
    with pytest.raises(TooLarge, match="1,000"):
        extract(data, filename="huge.txt", max_chars=1000)
    assert time.monotonic() - started < 1.0


def test_fifty_megabyte_html_fails_fast() -> None:
    data = b"<html><body><p>" + b"a" * 50_000_000 + b"</p></body></html>"
    started = time.monotonic()
    with pytest.raises(TooLarge):
        extract(data, filename="huge.html", max_chars=1000)
    assert time.monotonic() - started < 1.0


# --- HTML --------------------------------------------------------------------------------


def test_html_article_text_and_metadata() -> None:
    result = extract(ARTICLE, content_type="text/html; charset=utf-8", url="https://example.com/trains")
    assert result.kind == "html"
    assert "armoured train travelled slowly" in result.text
    assert "Copyright" not in result.text
    assert result.author == "Jane Doe"
    assert result.date == "2023-04-05"
    assert result.title is not None and "Trains of the North" in result.title


def test_html_paragraphs_are_separated_by_blank_lines() -> None:
    result = extract(ARTICLE, filename="trains.html")
    assert "carrying the delegation.\n\nOfficials said" in result.text


def test_html_extraction_never_touches_the_network(netguard: NetGuard) -> None:
    extract(ARTICLE, filename="page.htm", url="http://203.0.113.5/article")
    assert netguard.attempts == []


def test_html_falls_back_to_body_text_when_trafilatura_finds_nothing() -> None:
    page = (
        b"<html><head><title>Links</title></head><body><ul>"
        b"<li><a href='/x'>Link one</a></li><li><a href='/y'>Link two</a></li></ul></body></html>"
    )
    result = extract(page, filename="links.html")
    assert result.text == "Link one\n\nLink two"
    assert result.title == "Links"


def test_html_with_only_scripts_is_empty_content() -> None:
    page = (
        b"<html><head><script>var a = 1;</script></head>"
        b"<body><script>document.write('hi')</script><noscript></noscript></body></html>"
    )
    with pytest.raises(EmptyContent, match="may need JavaScript"):
        extract(page, filename="app.html")


def test_html_meta_charset_is_honoured() -> None:
    city = "\u041c\u043e\u0441\u043a\u0432\u0430"
    page = (
        '<html><head><meta charset="windows-1251"></head>'
        f"<body><p>{city} is a city with many words in this sentence.</p></body></html>"
    )
    result = extract(page.encode("windows-1251"), filename="city.html")
    assert city in result.text


# --- PDF ---------------------------------------------------------------------------------


def test_pdf_with_text_layer_extracts_text_and_metadata() -> None:
    data = make_pdf(
        ["Hello from the PDF"],
        {"Title": "Test Doc", "Author": "Ann Author", "CreationDate": "D:20240102030405Z"},
    )
    assert "Hello from the PDF" in (pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text() or "")
    result = extract(data, filename="doc.pdf")
    assert (result.text, result.title, result.author, result.date, result.kind) == (
        "Hello from the PDF",
        "Test Doc",
        "Ann Author",
        "2024-01-02",
        "pdf",
    )


def test_pdf_pages_are_joined_with_blank_lines() -> None:
    result = extract(make_pdf(["Page one text", "Page two text"]), content_type="application/pdf")
    assert result.text == "Page one text\n\nPage two text"


def test_pdf_without_text_layer_is_empty_content() -> None:
    with pytest.raises(EmptyContent, match=r"the PDF has no extractable text \(scanned\?\)"):
        extract(blank_pdf(), filename="scan.pdf")


def test_malformed_pdf_is_unsupported() -> None:
    with pytest.raises(UnsupportedContent, match="could not read this PDF"):
        extract(b"%PDF-1.4\n1 0 obj << /Type /Catalog garbage", filename="broken.pdf")


def test_pdf_named_file_without_pdf_header_is_unsupported() -> None:
    with pytest.raises(UnsupportedContent, match="does not look like a PDF"):
        extract(b"plain words, not a pdf", filename="fake.pdf")


def test_pdf_text_over_max_chars_is_too_large() -> None:
    with pytest.raises(TooLarge, match="the limit is 1,000"):
        extract(make_pdf(["x" * 700, "y" * 700]), filename="long.pdf", max_chars=1000)


# --- normalisation properties ----------------------------------------------------------------

_TEXTISH = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from(["\n", "\r", " ", "\t", "\f"]),
    ),
    max_size=300,
)


@given(_TEXTISH)
def test_normalize_text_is_idempotent_and_tidy(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert "\n\n\n" not in once
    assert "\r" not in once
    assert all(line == line.rstrip() for line in once.split("\n"))


@given(_TEXTISH.filter(lambda t: t.strip() != ""))
def test_extract_plain_text_equals_normalised_input(text: str) -> None:
    expected = normalize_text(text)
    if expected:
        assert extract(text.encode("utf-8"), filename="t.txt").text == expected


@pytest.mark.parametrize(
    ("head", "date"),
    [
        ("", None),  # the body's "1997" is not when the page was published
        ("<meta property='article:published_time' content='2023-05-01T10:00:00Z'>", "2023-05-01"),
    ],
)
def test_a_page_date_comes_from_its_markup_never_from_its_text(head: str, date: str | None) -> None:
    body = "<p>" + "The directive of 1997 set the rules for data protection across the union. " * 8 + "</p>"
    page = f"<html><head><title>Law</title>{head}</head><body><article><h1>Law</h1>{body}</article></body></html>"
    assert extract(page.encode(), filename="law.html").date == date


def test_a_page_served_as_plain_text_is_read_as_a_page() -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>Tesla</title></head><body><article><p>"
        + (b"After leaving Edison's company, Tesla founded a laboratory of his own. " * 6)
        + b"</p></article></body></html>"
    )
    got = extract(page, content_type="text/plain; charset=utf-8", url="http://127.0.0.1/tesla")
    assert "<p>" not in got.text and "Edison's company" in got.text
    plain = extract(b"Plain notes about <html> tags and more words.", content_type="text/plain")
    assert plain.text == "Plain notes about <html> tags and more words."
