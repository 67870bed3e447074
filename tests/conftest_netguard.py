"""Pytest plugin: fail any test that opens a connection beyond loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest


class NetworkGuardError(AssertionError):
    """A test tried to connect somewhere other than loopback."""


@dataclass
class NetGuard:
    """Record of connection attempts made during one test."""

    attempts: list[Any] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def check(self, family: int, address: Any) -> None:
        """Raise NetworkGuardError unless address is loopback or a unix socket."""
        self.attempts.append(address)
        if family == socket.AF_UNIX or _is_loopback(address):
            return
        message = f"network guard: test tried to connect to {address!r}; only loopback is allowed"
        self.violations.append(message)
        raise NetworkGuardError(message)


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple) or not address:
        return False
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.fixture(autouse=True)
def netguard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetGuard]:
    """Patch socket connects so only loopback and unix sockets are reachable."""
    guard = NetGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(sock: socket.socket, address: Any) -> None:
        guard.check(sock.family, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        guard.check(sock.family, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield guard
    if guard.violations:
        pytest.fail("\n".join(guard.violations), pytrace=False)
