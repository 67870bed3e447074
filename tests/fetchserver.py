"""A local HTTP server with scripted pages, and fetchers aimed at it, for the fetch tests."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from config.settings import FetchSettings
from retrieval.fetch import Fetcher

HTML = b"<html><head><title>Hi</title></head><body><p>Hello</p></body></html>"
PDF = b"%PDF-1.4\n%fake but served as a pdf\n%%EOF\n"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    stop: threading.Event
    requests: list[tuple[str, dict[str, str]]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up mid-response; the tests provoke that."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

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
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), _Handler)
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
def base(server: Server) -> str:
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
