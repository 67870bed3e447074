"""Core of the fake Discord: state, aiohttp server, request recording, rate-limit injection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .clock import FakeClock, Snowflakes
from .commands import CommandRegistry
from .errors import ApiError
from .gateway import APP_FLAGS, GatewaySession, handle_gateway
from .models import Channel, Guild, Message, RequestRecord, StoredAttachment, User, Violation
from .responses import RateLimitInjector, json_response

if TYPE_CHECKING:
    from .handle import InteractionHandle

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
# Typed request storage keys where aiohttp has them (3.12+); plain strings before.
PAYLOAD: Any = web.RequestKey("payload", object) if hasattr(web, "RequestKey") else "payload"
INTERACTION_ID: Any = (
    web.RequestKey("interaction_id", object) if hasattr(web, "RequestKey") else "interaction_id"
)
MiB = 1024 * 1024
# (method, path, route name, handler method name, needs bot token); filled in by the mixins' modules.
Route = tuple[str, str, str, str, bool]


class FakeDiscordBase:
    """State and server plumbing shared by the REST, webhook, world and action mixins."""

    ROUTES: tuple[Route, ...] = ()

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",  # noqa: S107 - a fake credential for the fake server
        bot_name: str = "citebot",
        privileged_intents: tuple[str, ...] | frozenset[str] = ("message_content",),
        response_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        attachment_size_limit: int = 10 * MiB,
        require_registered_commands: bool = True,
        heartbeat_interval_ms: int = 41250,
        clock: FakeClock | None = None,
    ) -> None:
        self.clock = clock or FakeClock()
        self.snowflake = Snowflakes(self.clock)
        self.token = token
        self.secret = secrets.token_bytes(16)
        self.app_id = self.snowflake()
        self.bot_user = User(self.app_id, bot_name, bot=True)
        self.app_owner = User(self.snowflake(), "app-owner")
        self.privileged_intents = frozenset(privileged_intents)
        self.response_deadline = response_deadline
        self.token_lifetime = token_lifetime
        self.attachment_size_limit = attachment_size_limit
        self.require_registered_commands = require_registered_commands
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.users: dict[int, User] = {u.id: u for u in (self.bot_user, self.app_owner)}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        self.interactions: dict[int, InteractionHandle] = {}
        self.tokens: dict[str, InteractionHandle] = {}
        self.commands = CommandRegistry(self.app_id, self.snowflake)
        # (guild id, command name) -> members an admin allowed despite default_member_permissions.
        self.command_overrides: dict[tuple[int, str], set[int]] = {}
        self.sessions: list[GatewaySession] = []
        self.session_registry: dict[str, GatewaySession] = {}
        self.gateway_closes: list[tuple[int, str]] = []
        self.violations: list[Violation] = []
        self.requests: list[RequestRecord] = []
        self.rate_limit_hits: list[RequestRecord] = []
        self.rate_limits = RateLimitInjector()
        self._routes: dict[tuple[str, str], tuple[str, bool]] = {}
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._outbox: asyncio.Queue[tuple[str, Any, list[GatewaySession], Any]] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self.port = 0

    # -- addresses -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Return the value for ``discord.http.Route.BASE``."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Return the value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (no query string)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def application_flags(self) -> int:
        """Return the application flags announcing the enabled privileged intents."""
        return sum(APP_FLAGS[name] for name in self.privileged_intents)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> FakeDiscordBase:
        """Bind to 127.0.0.1 on a free port and start serving."""
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * MiB)
        for method, path, name, handler, auth in self.ROUTES:
            full = path if path.startswith(("/attachments", "/cdn")) else API_PREFIX + path
            added = app.router.add_route(method, full, getattr(self, handler))
            self._routes[method, added.resource.canonical] = (name, auth)
        app.router.add_get("/gateway", self._gateway)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, shutdown_timeout=1.0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._outbox = asyncio.Queue()
        self._pump_task = asyncio.create_task(self._pump(), name="fakediscord-pump")
        return self

    async def stop(self) -> None:
        """Close gateway sessions and stop the server."""
        for timer in self._timers:
            timer.cancel()
        for session in list(self.sessions):
            with contextlib.suppress(Exception):
                await session.ws.close(code=1001, message=b"fake Discord shutting down")
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscordBase:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        return await handle_gateway(self, request)

    # -- waiting ---------------------------------------------------------------------------------
    def notify(self) -> None:
        """Wake everything blocked in ``wait_until``."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
    ) -> Any:
        """Wait until ``predicate()`` is truthy and return its value; TimeoutError after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            event = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake Discord: timed out after {timeout}s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.05))
        return result

    # -- gateway fan-out -------------------------------------------------------------------------
    def emit(
        self,
        event: str,
        data: Any,
        *,
        guild_id: int | None = None,
        intent: int | None = None,
        transform: Callable[[GatewaySession, Any], Any] | None = None,
        single: bool = False,
    ) -> bool:
        """Queue a dispatch for the live sessions (in order); return whether any session gets it."""
        targets = [
            s
            for s in self.sessions
            if s.live and s.sees_guild(guild_id) and (intent is None or s.has(intent))
        ]
        if single:
            targets = targets[:1]
        if targets and self._outbox is not None:
            self._outbox.put_nowait((event, data, targets, transform))
        return bool(targets)

    async def drain(self) -> None:
        """Wait until every queued gateway event has been written to its websocket."""
        if self._outbox is not None:
            await self._outbox.join()

    async def _pump(self) -> None:
        assert self._outbox is not None
        while True:
            event, data, targets, transform = await self._outbox.get()
            try:
                for session in targets:
                    await session.dispatch(event, transform(session, data) if transform else data)
            except Exception:
                log.exception("fake Discord failed to dispatch %s", event)
            finally:
                self._outbox.task_done()

    # -- REST plumbing ---------------------------------------------------------------------------
    def rate_limit(
        self, route: str, times: int = 1, *, retry_after: float = 0.05, is_global: bool = False
    ) -> None:
        """Answer the next ``times`` requests to ``route`` (a route name, see ``ROUTES``) with 429."""
        names = {r[2] for r in self.ROUTES}
        if route not in names:
            raise ValueError(f"unknown route {route!r}; known: {sorted(names)}")
        self.rate_limits.arm(route, times, retry_after, is_global)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        resource = request.match_info.route.resource
        name, auth = self._routes.get((request.method, resource.canonical if resource else ""), (None, False))
        if name is None and not request.path.startswith(API_PREFIX):
            return await handler(request)
        response: web.StreamResponse
        try:
            if name is None:
                raise ApiError(
                    404, 0, "404: Not Found", kind="unknown_route", detail=f"{request.method} {request.path}"
                )
            if auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise ApiError(
                    401, 0, "401: Unauthorized", kind="unauthorized", detail="missing or wrong bot token"
                )
            limited = self.rate_limits.take(name)
            response = limited if limited is not None else await handler(request)
        except ApiError as exc:
            response = json_response(exc.body(), exc.status)
            if exc.kind:
                self.violations.append(
                    Violation(
                        exc.kind,
                        exc.detail,
                        request.method,
                        request.path,
                        exc.status,
                        exc.code,
                        request.get(INTERACTION_ID),
                    )
                )
        record = RequestRecord(
            request.method,
            request.path,
            name,
            dict(request.query),
            request.get(PAYLOAD),
            response.status,
            self.clock.time(),
        )
        self.requests.append(record)
        if response.status == 429:
            self.rate_limit_hits.append(record)
        self.notify()
        return response

    async def read_body(self, request: web.Request) -> tuple[Any, list[tuple[str, bytes, str | None]]]:
        """Parse a JSON or multipart (payload_json + files[n]) body."""
        payload: Any = {}
        files: list[tuple[str, bytes, str | None]] = []
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                elif getattr(part, "filename", None):
                    data = await part.read(decode=False)  # type: ignore[union-attr]
                    files.append((part.filename, bytes(data), part.headers.get("Content-Type")))  # type: ignore[union-attr]
        elif request.can_read_body:
            try:
                payload = await request.json()
            except ValueError as exc:
                raise ApiError(
                    400, 50109, "The request body contains invalid JSON.", kind="invalid_json"
                ) from exc
        request[PAYLOAD] = {**payload, "_files": [f[0] for f in files]} if files else payload
        return payload, files

    # -- records ---------------------------------------------------------------------------------
    def violation(self, kind: str, detail: str, **extra: Any) -> None:
        """Record a broken rule that Discord would not reject outright."""
        self.violations.append(Violation(kind, detail, **extra))
        self.notify()

    def assert_no_violations(self) -> None:
        """Fail with every recorded violation listed."""
        if self.violations:
            lines = "\n".join(
                f"  {v.kind}: {v.detail} ({v.method} {v.path} -> {v.status})" for v in self.violations
            )
            raise AssertionError(f"the bot broke Discord's rules:\n{lines}")

    def requests_to(self, route: str) -> list[RequestRecord]:
        """Return the recorded requests of one route name."""
        return [r for r in self.requests if r.route == route]
