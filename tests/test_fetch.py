"""Tests for retrieval.fetch against local HTTP servers and stubbed resolvers."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.settings import FetchSettings
from retrieval.errors import (
    BlockedURL,
    FetchError,
    InvalidInput,
    TooLarge,
    UnsupportedContent,
)
from retrieval.fetch import Fetcher, is_public_address, parse_ip_literal
from tests.conftest_netguard import NetGuard, NetworkGuardError

HTML = b"<html><head><title>Hi</title></head><body><p>Hello</p></body></html>"
PDF = b"%PDF-1.4\n%fake but served as a pdf\n%%EOF\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stop: threading.Event
    requests: list[tuple[str, dict[str, str]]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up mid-response; the tests provoke that."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests.append((url.path, dict(self.headers.items())))
        parts = url.path.strip("/").split("/")
        route = getattr(self, f"_{parts[0].replace('-', '_')}", None)
        if route is None:
            self._send(404, "text/html", b"<p>not here</p>")
        else:
            route(parts[1:], parse_qs(url.query))

    def _send(self, status: int, ctype: str | None, body: bytes, **headers: str) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        fields = {name.replace("_", "-"): value for name, value in headers.items()}
        fields.setdefault("Content-Length", str(len(body)))
        for name, value in fields.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _html(self, *_: Any) -> None:
        self._send(200, "text/html; charset=utf-8", HTML)

    def _text(self, *_: Any) -> None:
        self._send(200, "text/plain; charset=ISO-8859-1", "caf\xe9\n".encode("latin-1"))

    def _pdf(self, *_: Any) -> None:
        self._send(200, "application/pdf", PDF)

    def _image(self, *_: Any) -> None:
        self._send(200, "image/png", b"\x89PNG\r\n\x1a\n")

    def _untyped(self, *_: Any) -> None:
        self._send(200, None, b"what am I")

    def _echo(self, parts: list[str], _: Any) -> None:
        self._send(200, "text/plain", self.headers.get(parts[0], "").encode())

    def _slow(self, *_: Any) -> None:
        self.server.stop.wait(5)
        self._html()

    def _drip(self, *_: Any) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        while not self.server.stop.wait(0.05):
            self.wfile.write(b"x")
            self.wfile.flush()

    def _endless(self, *_: Any) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        for _ in range(1000):
            self.wfile.write(b"y" * 65536)

    def _declared_huge(self, *_: Any) -> None:
        self._send(200, "text/plain", b"tiny", Content_Length=str(10**9))

    def _gzip_bomb(self, *_: Any) -> None:
        self._send(200, "text/plain", gzip.compress(b"\0" * 5_000_000), Content_Encoding="gzip")

    def _redirect(self, parts: list[str], _: Any) -> None:
        left = int(parts[0])
        target = "/html" if left == 0 else f"../redirect/{left - 1}"
        self._send(302, "text/html", b"", Location=target)

    def _slow_redirect(self, parts: list[str], _: Any) -> None:
        self.server.stop.wait(0.15)
        self._send(302, "text/html", b"", Location=f"/slow-redirect/{int(parts[0]) + 1}")

    def _loop(self, *_: Any) -> None:
        self._send(301, "text/html", b"", Location="/loop")

    def _to(self, _: Any, query: dict[str, list[str]]) -> None:
        self._send(302, "text/html", b"", Location=query["url"][0])


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.stop = threading.Event()
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def base(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def make_fetcher(resolver: Callable[[str, int], list[str]] | None = None, **overrides: Any) -> Fetcher:
    values: dict[str, Any] = {
        "timeout": 2.0,
        "connect_timeout": 1.0,
        "max_bytes": 100_000,
        "max_redirects": 5,
        "allow_private_hosts": ["127.0.0.1"],
    }
    values.update(overrides)
    return Fetcher(FetchSettings(**values), resolver=resolver)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    fetcher = make_fetcher()
    yield fetcher
    fetcher.close()


def no_dns(host: str, port: int) -> list[str]:
    pytest.fail(f"resolver must not be called for {host}")


class StubResolver:
    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


# --- the network guard itself -------------------------------------------------------


def test_network_guard_raises_before_connecting_outside_loopback(netguard: NetGuard) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkGuardError, match=r"10\.255\.255\.1"):
            sock.connect(("10.255.255.1", 80))
        with pytest.raises(OSError):
            sock.getpeername()
    netguard.violations.clear()


def test_network_guard_catches_create_connection_to_ipv6(netguard: NetGuard) -> None:
    with pytest.raises(NetworkGuardError):
        socket.create_connection(("2001:db8::1", 80), timeout=0.1)
    netguard.violations.clear()


# --- successful fetches ---------------------------------------------------------------


def test_fetch_html_returns_body_type_and_charset(fetcher: Fetcher, base: str) -> None:
    page = fetcher.fetch(f"{base}/html")
    assert (page.url, page.final_url) == (f"{base}/html", f"{base}/html")
    assert (page.content_type, page.charset, page.body) == ("text/html", "utf-8", HTML)


def test_fetch_text_reports_declared_charset(fetcher: Fetcher, base: str) -> None:
    page = fetcher.fetch(f"{base}/text")
    assert page.content_type == "text/plain"
    assert page.charset is not None and page.charset.lower() == "iso-8859-1"
    assert page.body == b"caf\xe9\n"


def test_fetch_pdf_returns_raw_bytes(fetcher: Fetcher, base: str) -> None:
    page = fetcher.fetch(f"{base}/pdf")
    assert (page.content_type, page.body) == ("application/pdf", PDF)


def test_fetch_sends_configured_user_agent(base: str) -> None:
    fetcher = make_fetcher(user_agent="citebot-test/9")
    assert fetcher.fetch(f"{base}/echo/User-Agent").body == b"citebot-test/9"
    fetcher.close()


def test_fetch_reuses_one_connection_for_repeated_fetches(
    fetcher: Fetcher, base: str, netguard: NetGuard
) -> None:
    fetcher.fetch(f"{base}/html")
    fetcher.fetch(f"{base}/text")
    assert len(netguard.attempts) == 1


def test_fetch_follows_relative_redirect_chain_within_limit(fetcher: Fetcher, base: str) -> None:
    page = fetcher.fetch(f"{base}/redirect/3")
    assert page.url == f"{base}/redirect/3"
    assert page.final_url == f"{base}/html"
    assert page.body == HTML


def test_fetch_connects_to_resolved_ip_but_sends_hostname(server: _Server, netguard: NetGuard) -> None:
    port = server.server_address[1]
    resolver = StubResolver(["127.0.0.1"])
    fetcher = make_fetcher(resolver)
    page = fetcher.fetch(f"http://example.test:{port}/echo/Host")
    fetcher.close()
    assert page.body == f"example.test:{port}".encode()
    assert resolver.calls == [("example.test", port)]
    assert netguard.attempts == [("127.0.0.1", port)]


def test_fetch_allows_private_host_listed_by_name(server: _Server) -> None:
    port = server.server_address[1]
    fetcher = make_fetcher(StubResolver(["127.0.0.1"]), allow_private_hosts=["wiki.internal"])
    assert fetcher.fetch(f"http://wiki.internal:{port}/html").body == HTML
    with pytest.raises(BlockedURL):
        fetcher.fetch(f"http://other.internal:{port}/html")
    fetcher.close()


# --- HTTP-level failures ---------------------------------------------------------------


def test_fetch_404_names_the_status(fetcher: Fetcher, base: str) -> None:
    with pytest.raises(FetchError, match="returned HTTP 404 Not Found"):
        fetcher.fetch(f"{base}/nope")


def test_fetch_wrong_content_type_names_the_type(fetcher: Fetcher, base: str) -> None:
    with pytest.raises(UnsupportedContent, match="image/png"):
        fetcher.fetch(f"{base}/image")


def test_fetch_missing_content_type_is_unsupported(fetcher: Fetcher, base: str) -> None:
    with pytest.raises(UnsupportedContent, match="unknown type"):
        fetcher.fetch(f"{base}/untyped")


def test_fetch_slow_server_times_out_quickly(base: str) -> None:
    fetcher = make_fetcher(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 0\.3 s") as caught:
        fetcher.fetch(f"{base}/slow")
    assert time.monotonic() - started < 1.5
    assert caught.value.__cause__ is not None
    fetcher.close()


def test_fetch_total_deadline_covers_a_trickling_body(base: str) -> None:
    fetcher = make_fetcher(timeout=0.4, max_bytes=1_000_000)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetcher.fetch(f"{base}/drip")
    assert time.monotonic() - started < 1.2
    fetcher.close()


def test_fetch_total_deadline_spans_redirects(base: str) -> None:
    fetcher = make_fetcher(timeout=0.5, max_redirects=20)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetcher.fetch(f"{base}/slow-redirect/0")
    assert time.monotonic() - started < 1.5
    fetcher.close()


def test_fetch_endless_body_stops_at_byte_cap(fetcher: Fetcher, base: str) -> None:
    with pytest.raises(TooLarge, match="100,000-byte limit"):
        fetcher.fetch(f"{base}/endless")


def test_fetch_rejects_declared_length_above_cap_before_reading(fetcher: Fetcher, base: str) -> None:
    with pytest.raises(TooLarge, match="1,000,000,000 bytes"):
        fetcher.fetch(f"{base}/declared-huge")


def test_fetch_caps_decompressed_size_of_gzip_body(fetcher: Fetcher, base: str) -> None:
    with pytest.raises(TooLarge):
        fetcher.fetch(f"{base}/gzip-bomb")


def test_fetch_redirect_loop_stops_at_limit(fetcher: Fetcher, base: str) -> None:
    with pytest.raises(FetchError, match="redirected more than 5 times"):
        fetcher.fetch(f"{base}/loop")


def test_fetch_connection_refused_is_a_clean_fetch_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match=r"could not connect to 127\.0\.0\.1") as caught:
        make_fetcher().fetch(f"http://127.0.0.1:{port}/")
    assert caught.value.__cause__ is not None


def test_fetch_dns_failure_is_a_clean_fetch_error() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(FetchError, match=r"could not find the server nowhere\.test") as caught:
        make_fetcher(failing).fetch("http://nowhere.test/")
    assert isinstance(caught.value.__cause__, socket.gaierror)


# --- URL and address refusals ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/file", "not ftp://"),
        ("file:///etc/passwd", "not file://"),
        ("javascript:alert(1)", "not javascript://"),
        ("http://user:secret@example.com/", "user name or password"),
        ("https://admin@example.com/", "user name or password"),
    ],
)
def test_fetch_refuses_bad_scheme_or_userinfo(url: str, message: str) -> None:
    with pytest.raises(BlockedURL, match=message):
        make_fetcher(no_dns).fetch(url)


@pytest.mark.parametrize(
    "url", ["example.com/page", "http:///path", "http://exa mple.com/", "http://1.2.3.4.5/"]
)
def test_fetch_rejects_malformed_urls(url: str) -> None:
    with pytest.raises(InvalidInput):
        make_fetcher(no_dns).fetch(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://127.0.0.1./",
        "http://0.0.0.0/",
        "http://0/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[fe80::1%25eth0]/",
        "http://[fd00:ec2::254]/",
        "http://[2002:a00:1::]/",
        "http://[64:ff9b::a9fe:a9fe]/",
    ],
)
def test_fetch_refuses_private_ip_literals_without_dns_or_connect(url: str, netguard: NetGuard) -> None:
    with pytest.raises(BlockedURL, match="private or local network address"):
        make_fetcher(no_dns, allow_private_hosts=[]).fetch(url)
    assert netguard.attempts == []


def test_fetch_refuses_octal_ipv4_without_connecting(netguard: NetGuard) -> None:
    # httpx itself rejects leading-zero octets, so this is refused as malformed.
    with pytest.raises((BlockedURL, InvalidInput)):
        make_fetcher(no_dns, allow_private_hosts=[]).fetch("http://0177.0.0.1/")
    assert netguard.attempts == []


@pytest.mark.parametrize(
    "answer",
    [
        ["10.0.0.7"],
        ["169.254.169.254"],
        ["::1"],
        ["93.184.215.14", "192.168.1.1"],
        ["2606:4700::1", "fc00::1"],
    ],
)
def test_fetch_refuses_hostname_resolving_to_any_private_address(
    answer: list[str], netguard: NetGuard
) -> None:
    resolver = StubResolver(answer)
    with pytest.raises(BlockedURL, match=r"intranet\.test points to a private"):
        make_fetcher(resolver, allow_private_hosts=[]).fetch("http://intranet.test/")
    assert resolver.calls == [("intranet.test", 80)]
    assert netguard.attempts == []


def test_fetch_refuses_when_one_resolved_address_is_outside_allowlist(
    server: _Server, netguard: NetGuard
) -> None:
    port = server.server_address[1]
    fetcher = make_fetcher(StubResolver(["127.0.0.1", "10.1.2.3"]))
    with pytest.raises(BlockedURL):
        fetcher.fetch(f"http://mixed.test:{port}/html")
    assert netguard.attempts == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2:{port}/html",
        "http://[::1]:{port}/html",
        "http://localhost:{port}/html",
        "http://internal.test:{port}/html",
        "http://2130706434:{port}/html",
    ],
)
def test_fetch_refuses_redirect_to_private_target_without_connecting(
    server: _Server, target: str, netguard: NetGuard
) -> None:
    port = server.server_address[1]
    resolver = StubResolver(["127.0.0.1", "::1"])
    fetcher = make_fetcher(resolver)
    start = f"http://127.0.0.1:{port}/to?url={target.format(port=port)}"
    with pytest.raises(BlockedURL):
        fetcher.fetch(start)
    fetcher.close()
    assert netguard.attempts == [("127.0.0.1", port)]


def test_fetch_refuses_redirect_to_other_scheme(fetcher: Fetcher, base: str) -> None:
    with pytest.raises(BlockedURL, match="not file://"):
        fetcher.fetch(f"{base}/to?url=file:///etc/passwd")


# --- the address check itself -------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.168.1.1",
        "198.18.0.1",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fe80::1%eth0",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "100::1",
        "2001:db8::1",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
        "2002:7f00:1::1",
        "2002:a9fe:a9fe::",
        "64:ff9b::7f00:1",
        "64:ff9b::a00:1",
        "64:ff9b:1::1",
        "fd00:ec2::254",
    ],
)
def test_is_public_address_refuses_non_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.215.14",
        "100.63.255.255",
        "172.32.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
        "64:ff9b::808:808",
    ],
)
def test_is_public_address_accepts_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0X7F000001",
        "0177.0.0.1",
        "0177.1",
        "127.1",
        "0x7f.0.0.1",
        "127.0.0.1.",
    ],
)
def test_parse_ip_literal_reads_every_ipv4_spelling(host: str) -> None:
    assert parse_ip_literal(host) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.0.0.1", "08.0.0.1", "1.16777216", "evil.1", "[::1"])
def test_parse_ip_literal_rejects_invalid_numbers(host: str) -> None:
    with pytest.raises(InvalidInput):
        parse_ip_literal(host)


@pytest.mark.parametrize("host", ["example.com", "localhost", "1.example", "xn--exmple-cua.com"])
def test_parse_ip_literal_returns_none_for_names(host: str) -> None:
    assert parse_ip_literal(host) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_parse_ip_literal_decimal_hex_and_dotted_agree(number: int) -> None:
    expected = ipaddress.IPv4Address(number)
    assert parse_ip_literal(str(number)) == expected
    assert parse_ip_literal(hex(number)) == expected
    assert parse_ip_literal(str(expected)) == expected


@given(st.ip_addresses(v=4))
def test_ipv4_mapped_ipv6_is_judged_like_its_ipv4(ip: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert is_public_address(mapped) == is_public_address(ip)
