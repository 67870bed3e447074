"""Which addresses the fetcher may connect to: public unicast only, in every spelling."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.addresses import is_public_address, parse_ip_literal
from retrieval.errors import InvalidInput


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
