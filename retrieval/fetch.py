"""Fetch web pages safely: http(s) only, public addresses only, bounded in size and time."""

from __future__ import annotations

import ipaddress
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from config.settings import FetchSettings
from retrieval.addresses import AllowList, IPAddress, parse_ip_literal, resolve_host
from retrieval.errors import (
    BlockedURL,
    CitebotError,
    FetchError,
    Gone,
    InvalidInput,
    TooLarge,
    UnsupportedContent,
)

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]

ALLOWED_CONTENT_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "text/plain",
        "text/markdown",
        "text/x-markdown",
        "application/pdf",
    }
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")
_PRIVATE_MESSAGE = "{} points to a private or local network address; citebot only fetches public web pages"


@dataclass(frozen=True)
class FetchedPage:
    """A fetched document and where it came from."""

    url: str
    final_url: str
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # HTTP 304 to a conditional fetch: the body is empty


class _Refused(Exception):
    """Carry a citebot error through httpcore, which re-raises with `from None`."""

    def __init__(self, error: CitebotError, cause: BaseException | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.cause = cause


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolve once, vet every address, then connect to a vetted IP (no DNS rebinding)."""

    def __init__(self, resolver: Resolver, allow: AllowList) -> None:
        self._resolver = resolver
        self._allow = allow
        self._inner = httpcore.SyncBackend()
        self._local = threading.local()

    def set_deadline(self, deadline: float | None) -> None:
        self._local.deadline = deadline

    def clamp(self, timeout: float | None) -> float | None:
        """Shorten a socket timeout so no single wait outlives the whole-fetch deadline."""
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is None:
            return timeout
        remaining = max(deadline - time.monotonic(), 0.001)
        return remaining if timeout is None else min(timeout, remaining)

    def vet(self, host: str, port: int) -> list[IPAddress]:
        literal = parse_ip_literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = [ipaddress.ip_address(raw) for raw in self._resolver(host, port)]
            except (OSError, UnicodeError) as exc:
                raise _Refused(
                    FetchError(f"could not find the server {host} (DNS lookup failed)"),
                    exc,
                ) from exc
            except ValueError as exc:
                raise _Refused(FetchError(f"could not find the server {host}"), exc) from exc
            if not addresses:
                raise _Refused(FetchError(f"could not find the server {host} (no addresses)"))
            if self._allow.allows_name(host):
                return addresses
        bad = [str(ip) for ip in addresses if not self._allow.allows(ip)]
        if bad:
            log.warning("refused %s: resolves to non-public %s", host, ", ".join(bad))
            raise _Refused(BlockedURL(_PRIVATE_MESSAGE.format(host)))
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        options = list(socket_options or [])
        error = httpcore.ConnectError(f"no usable address for {host}")
        for ip in self.vet(host, port):
            try:
                stream = self._inner.connect_tcp(str(ip), port, self.clamp(timeout), local_address, options)
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return _DeadlineStream(stream, self)
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise _Refused(BlockedURL("unix sockets cannot be fetched"))

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, backend: _GuardedBackend) -> None:
        self._stream = stream
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._backend.clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._backend.clamp(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._backend.clamp(timeout))
        return _DeadlineStream(tls, self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class Fetcher:
    """Fetch URLs for ingestion with SSRF protection, size caps and a total deadline."""

    def __init__(self, settings: FetchSettings, resolver: Resolver | None = None) -> None:
        self._settings = settings
        self._allow = AllowList.parse(settings.allow_private_hosts)
        self._backend = _GuardedBackend(resolver or resolve_host, self._allow)
        transport = httpx.HTTPTransport(trust_env=False, retries=0)
        # httpx offers no public hook for the network backend; swap in a pool that uses ours.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=self._backend,
            retries=0,
        )
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent},
        )

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchedPage:
        """Fetch url, following vetted redirects, and return its body.

        With etag or last_modified (from an earlier fetch) the request is conditional: a server
        that finds the page unchanged answers 304, returned as a page with not_modified set.
        """
        deadline = time.monotonic() + self._settings.timeout
        self._backend.set_deadline(deadline)
        conditional = {"If-None-Match": etag or "", "If-Modified-Since": last_modified or ""}
        try:
            return self._fetch(url, deadline, {k: v for k, v in conditional.items() if v})
        except _Refused as exc:
            raise exc.error from (exc.cause or exc)
        except httpx.TimeoutException as exc:
            raise self._timed_out(url) from exc
        finally:
            self._backend.set_deadline(None)

    def close(self) -> None:
        """Close the underlying HTTP connections."""
        self._client.close()

    def _fetch(self, url: str, deadline: float, conditional: dict[str, str]) -> FetchedPage:
        current = self._check_url(url)
        for hop in range(self._settings.max_redirects + 1):
            request = self._client.build_request(
                "GET", current, timeout=self._timeouts(deadline), headers=conditional
            )
            response = self._send(request)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    if hop == self._settings.max_redirects:
                        break
                    target = current.join(response.headers["location"]).copy_with(fragment=None)
                    log.info("redirect %s -> %s", current, target)
                    current = self._check_url(str(target))
                    continue
                if response.status_code == 304 and conditional:
                    log.info("not modified: %s", current)
                    return FetchedPage(url, str(current), "", None, b"", *_validators(response), True)
                return self._read(url, current, response, deadline)
            finally:
                response.close()
        raise FetchError(f"{url} redirected more than {self._settings.max_redirects} times; giving up")

    def _check_url(self, url: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url.strip())
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise InvalidInput(f"{url!r} is not a valid web address") from exc
        if not parsed.scheme:
            raise InvalidInput(f"{url!r} is not a web address (use http:// or https://)")
        if parsed.scheme not in ("http", "https"):
            raise BlockedURL(f"only http:// and https:// links can be fetched, not {parsed.scheme}://")
        if parsed.userinfo:
            raise BlockedURL("links with a user name or password in them (user@host) are not allowed")
        host = parsed.raw_host.decode("ascii").lower()
        if not host:
            raise InvalidInput(f"{url!r} has no host name")
        literal = parse_ip_literal(host)
        if literal is None and (len(host) > 253 or not _HOSTNAME.match(host)):
            raise InvalidInput(f"{url!r} has an invalid host name")
        if literal is not None and not self._allow.allows(literal):
            log.warning("refused %s: non-public address %s", url, literal)
            raise BlockedURL(_PRIVATE_MESSAGE.format(parsed.host))
        return parsed

    def _timeouts(self, deadline: float) -> httpx.Timeout:
        remaining = max(deadline - time.monotonic(), 0.001)
        return httpx.Timeout(remaining, connect=min(self._settings.connect_timeout, remaining))

    def _send(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            return self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise
        except httpx.ConnectError as exc:
            raise FetchError(f"could not connect to {host}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"the connection to {host} failed") from exc

    def _read(self, url: str, final: httpx.URL, response: httpx.Response, deadline: float) -> FetchedPage:
        if response.status_code in (404, 410):
            raise Gone(f"{url} returned HTTP {response.status_code} {response.reason_phrase}".rstrip())
        if not 200 <= response.status_code < 300:
            raise FetchError(f"{url} returned HTTP {response.status_code} {response.reason_phrase}".rstrip())
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in ALLOWED_CONTENT_TYPES:
            kind = media or "of an unknown type"
            raise UnsupportedContent(
                f"{url} is {kind}, which citebot cannot read (supported: HTML, plain text, Markdown, PDF)"
            )
        cap = self._settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"{url} is {int(declared):,} bytes; the limit is {cap:,} bytes")
        chunks, total = [], 0
        try:
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > cap:
                    raise TooLarge(f"{url} is larger than the {cap:,}-byte limit")
                if time.monotonic() > deadline:
                    raise self._timed_out(url)
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as exc:
            raise FetchError(f"the download from {final.host} broke off") from exc
        log.info("fetched %s (%d bytes, %s)", final, total, media)
        body = b"".join(chunks)
        return FetchedPage(url, str(final), media, response.charset_encoding, body, *_validators(response))

    def _timed_out(self, url: str) -> FetchError:
        return FetchError(f"{url} timed out after {self._settings.timeout:g} s")


def _validators(response: httpx.Response) -> tuple[str | None, str | None]:
    """Return the response's ETag and Last-Modified, for a conditional fetch next time."""
    return response.headers.get("etag") or None, response.headers.get("last-modified") or None
