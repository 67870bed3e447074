"""Tests for retrieval.fetch against local HTTP servers and stubbed resolvers."""

from __future__ import annotations

import socket
import time

import pytest

from retrieval.errors import (
    BlockedURL,
    FetchError,
    TooLarge,
    UnsupportedContent,
)
from retrieval.fetch import Fetcher
from tests.conftest_netguard import NetGuard, NetworkGuardError
from tests.fetchserver import HTML, PDF, Server, StubResolver, make_fetcher


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


def test_fetch_connects_to_resolved_ip_but_sends_hostname(server: Server, netguard: NetGuard) -> None:
    port = server.server_address[1]
    resolver = StubResolver(["127.0.0.1"])
    fetcher = make_fetcher(resolver)
    page = fetcher.fetch(f"http://example.test:{port}/echo/Host")
    fetcher.close()
    assert page.body == f"example.test:{port}".encode()
    assert resolver.calls == [("example.test", port)]
    assert netguard.attempts == [("127.0.0.1", port)]


def test_fetch_allows_private_host_listed_by_name(server: Server) -> None:
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
