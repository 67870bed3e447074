"""Which network addresses citebot may fetch from: public unicast only, in any spelling."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from retrieval.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# Everything that is not public unicast: this-network, private, shared (CGNAT), loopback,
# link-local (cloud metadata), IETF/documentation/benchmark ranges, 6to4 relay, multicast,
# reserved and broadcast.
_BLOCKED_V4 = tuple(
    _V4(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
# Only global unicast (2000::/3) is public; within it, Teredo/IETF, documentation ranges.
_GLOBAL_V6 = _V6("2000::/3")
_BLOCKED_V6 = (_V6("2001::/23"), _V6("2001:db8::/32"), _V6("3fff::/20"))
_NAT64 = _V6("64:ff9b::/96")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def is_public_address(ip: IPAddress) -> bool:
    """Return True when ip is a public unicast address that may be fetched from."""
    if isinstance(ip, ipaddress.IPv4Address):
        return not any(ip in net for net in _BLOCKED_V4)
    if ip.scope_id:
        return False
    embedded = ip.ipv4_mapped or ip.sixtofour
    if embedded is None and ip in _NAT64:
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if embedded is not None:
        return is_public_address(embedded)
    return ip in _GLOBAL_V6 and not any(ip in net for net in _BLOCKED_V6)


def parse_ip_literal(host: str) -> IPAddress | None:
    """Parse host as an IP address in any form resolvers accept ("127.1", "0x7f000001"); None if a name."""
    host = host.lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.replace("%25", "%"))
        except ValueError as exc:
            raise InvalidInput(f"{host!r} is not a valid IPv6 address") from exc
    labels = host.removesuffix(".").split(".")
    if not _NUMBER.match(labels[-1]):
        return None
    # Like inet_aton: up to four parts, decimal/octal/hex, the last filling the remaining bits.
    if len(labels) > 4 or not all(_NUMBER.match(label) for label in labels):
        raise InvalidInput(f"{host!r} is not a valid IPv4 address")
    try:
        values = [_parse_ipv4_part(label) for label in labels]
    except ValueError as exc:
        raise InvalidInput(f"{host!r} is not a valid IPv4 address") from exc
    *head, last = values
    if any(value > 255 for value in head) or last >= 1 << (8 * (5 - len(values))):
        raise InvalidInput(f"{host!r} is not a valid IPv4 address")
    number = sum(value << (24 - 8 * i) for i, value in enumerate(head)) + last
    return ipaddress.IPv4Address(number)


def _parse_ipv4_part(label: str) -> int:
    if label.startswith("0x"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)
    return int(label)


def resolve_host(host: str, port: int) -> list[str]:
    """Return every address host resolves to, IPv4 and IPv6."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names, networks = set(), []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                names.add(entry.strip().lower().removesuffix("."))
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return host.lower().removesuffix(".") in self.names

    def allows(self, ip: IPAddress) -> bool:
        return is_public_address(ip) or any(ip.version == net.version and ip in net for net in self.networks)
