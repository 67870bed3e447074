"""The fetcher refuses what it must: bad schemes, malformed URLs, private addresses, bad redirects."""

from __future__ import annotations

import pytest

from retrieval.errors import (
    BlockedURL,
    InvalidInput,
)
from retrieval.fetch import Fetcher
from tests.conftest_netguard import NetGuard
from tests.fetchserver import Server, StubResolver, make_fetcher, no_dns


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
    server: Server, netguard: NetGuard
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
    server: Server, target: str, netguard: NetGuard
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
