"""A tiny web server on 127.0.0.1 whose pages tests set and change."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0
    etag: str | None = None  # sent, and a matching If-None-Match gets 304 Not Modified
    last_modified: str | None = None  # sent, and an equal If-Modified-Since gets 304


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, Page]
    requests: list[tuple[str, dict[str, str]]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up early (timeouts) are expected."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        page = self.server.pages.get(self.path, Page(b"<p>not found</p>", status=404))
        self.server.requests.append((self.path, dict(self.headers.items())))
        if page.delay:
            time.sleep(page.delay)
        if _not_modified(page, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")):
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(page.status)
        for name, value in (("ETag", page.etag), ("Last-Modified", page.last_modified)):
            if value:
                self.send_header(name, value)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        self.wfile.write(page.body)


def _not_modified(page: Page, if_none_match: str | None, if_modified_since: str | None) -> bool:
    if page.status != 200:
        return False
    if if_none_match is not None and page.etag:
        return if_none_match == page.etag
    return bool(if_modified_since and page.last_modified and if_modified_since == page.last_modified)


class LocalWeb:
    """Pages served at http://127.0.0.1:PORT/path."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.pages = server.pages
        self.requests = server.requests  # (path, headers) of every request, in order

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"


@contextmanager
def local_web() -> Iterator[LocalWeb]:
    """Serve pages on a free loopback port for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.pages = {}
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalWeb(server)
    finally:
        server.shutdown()
        server.server_close()


def article_html(title: str, body: str) -> bytes:
    """Return a small but realistic article page."""
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return (
        f"<html><head><title>{title}</title><meta name='author' content='A. Writer'></head>"
        f"<body><nav>Home | News</nav><article><h1>{title}</h1>{paragraphs}</article>"
        f"<footer>© News</footer></body></html>"
    ).encode()
