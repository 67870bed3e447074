"""JSON responses shaped like Discord's, and 429s injected by tests."""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Return JSON with ``Content-Type: application/json`` exactly, as discord.py requires."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


@dataclass
class _Rule:
    remaining: int
    retry_after: float
    is_global: bool


class RateLimitInjector:
    """Per-route counters of forced 429 answers."""

    def __init__(self) -> None:
        self._rules: dict[str, _Rule] = {}

    def arm(self, route: str, times: int, retry_after: float, is_global: bool) -> None:
        """Make the next ``times`` requests to ``route`` answer 429."""
        self._rules[route] = _Rule(times, retry_after, is_global)

    def take(self, route: str) -> web.Response | None:
        """Return a 429 response if one is armed for ``route`` (and use it up)."""
        rule = self._rules.get(route)
        if rule is None or rule.remaining <= 0:
            return None
        rule.remaining -= 1
        # discord.py treats a 429 without a Via header as a Cloudflare ban and gives up.
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, math.ceil(rule.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + rule.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha256(route.encode()).hexdigest()[:32],
            "X-RateLimit-Scope": "global" if rule.is_global else "user",
        }
        if rule.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": rule.retry_after,
            "global": rule.is_global,
        }
        return json_response(body, 429, headers)
