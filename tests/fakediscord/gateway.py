"""The fake gateway: websocket sessions speaking Discord's v10 JSON protocol."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import payloads
from .models import Violation

if TYPE_CHECKING:
    from .server import FakeDiscordBase

log = logging.getLogger(__name__)

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = {"members": GUILD_MEMBERS, "presences": GUILD_PRESENCES, "message_content": MESSAGE_CONTENT}
# Application flags announcing which privileged intents the portal enabled.
APP_FLAGS = {"presences": 1 << 12, "members": 1 << 14, "message_content": 1 << 18}
KNOWN_INTENTS = (1 << 26) - 1


def _encoder(kind: str | None) -> Callable[[bytes], bytes] | None:
    """Return a per-connection stream compressor for ``compress=...`` (None: plain text frames)."""
    if kind == "zlib-stream":
        zcomp = zlib.compressobj()
        return lambda data: zcomp.compress(data) + zcomp.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":
        import zstandard

        zstd = zstandard.ZstdCompressor().compressobj()
        return lambda data: zstd.compress(data) + zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    return None


class GatewaySession:
    """One websocket connection and its identify state."""

    def __init__(self, fake: FakeDiscordBase, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.fake = fake
        self.ws = ws
        self.compress = compress
        self.session_id = secrets.token_hex(16)
        self.seq = 0
        self.intents = 0
        self.shard: tuple[int, int] | None = None
        self.identified = False
        self.ready = False
        self.received: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._encode = _encoder(compress)

    @property
    def live(self) -> bool:
        """Return whether events can be delivered to this session."""
        return self.identified and not self.ws.closed

    def has(self, intent: int) -> bool:
        """Return whether the session asked for an intent."""
        return bool(self.intents & intent)

    def sees_guild(self, guild_id: int | None) -> bool:
        """Return whether this shard receives events of a guild."""
        if self.shard is None:
            return True
        if guild_id is None:  # DMs go to shard 0
            return self.shard[0] == 0
        return (guild_id >> 22) % self.shard[1] == self.shard[0]

    async def send(self, op: int, data: Any = None, event: str | None = None) -> None:
        """Send one gateway payload; dispatches get the next sequence number."""
        async with self._lock:
            if self.ws.closed:
                return
            payload: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
            if op == 0:
                self.seq += 1
                payload["s"] = self.seq
            text = json.dumps(payload)
            try:
                if self._encode is None:
                    await self.ws.send_str(text)
                else:
                    await self.ws.send_bytes(self._encode(text.encode()))
            except (ConnectionError, RuntimeError):
                log.debug("gateway send failed: session %s closed", self.session_id)

    async def dispatch(self, event: str, data: Any) -> None:
        """Send a DISPATCH (op 0) event."""
        await self.send(0, data, event)

    async def close(self, code: int, reason: str) -> None:
        """Close the websocket with a Discord close code."""
        self.fake.gateway_closes.append((code, reason))
        await self.ws.close(code=code, message=reason.encode())


async def handle_gateway(fake: FakeDiscordBase, request: web.Request) -> web.WebSocketResponse:
    """Serve one gateway connection: HELLO, then IDENTIFY/RESUME, heartbeats and requests."""
    ws = web.WebSocketResponse(timeout=1.0, max_msg_size=0)
    await ws.prepare(request)
    session = GatewaySession(fake, ws, request.query.get("compress"))
    fake.sessions.append(session)
    try:
        if request.query.get("v") != "10":
            await session.close(4012, "Invalid API version.")
            return ws
        if request.query.get("encoding", "json") != "json":
            await session.close(4002, "Error while decoding payload.")
            return ws
        await session.send(10, {"heartbeat_interval": fake.heartbeat_interval_ms})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                await session.close(4002, "Error while decoding payload.")
                break
            try:
                payload = json.loads(msg.data)
            except ValueError:
                await session.close(4002, "Error while decoding payload.")
                break
            session.received.append(payload)
            await _on_payload(fake, session, payload)
    finally:
        fake.sessions.remove(session)
        fake.notify()
    return ws


async def _on_payload(fake: FakeDiscordBase, session: GatewaySession, payload: dict[str, Any]) -> None:
    op, data = payload.get("op"), payload.get("d")
    if op == 1:
        await session.send(11)
    elif op == 2:
        await _identify(fake, session, data or {})
    elif op == 6:
        await _resume(fake, session, data or {})
    elif not session.identified:
        await session.close(4003, "Not authenticated.")
    elif op == 8:
        await _request_members(fake, session, data or {})
    elif op not in (3, 4):
        await session.close(4001, "Unknown opcode.")


async def _identify(fake: FakeDiscordBase, session: GatewaySession, data: dict[str, Any]) -> None:
    if session.identified:
        await session.close(4005, "Already authenticated.")
        return
    if data.get("token") != fake.token:
        fake.violations.append(
            Violation("bad_token", "IDENTIFY with a wrong token", "GATEWAY", "/gateway", 4004)
        )
        await session.close(4004, "Authentication failed.")
        return
    intents = data.get("intents")
    if not isinstance(intents, int) or intents & ~KNOWN_INTENTS:
        await session.close(4013, "Invalid intent(s).")
        return
    denied = [
        name for name, bit in PRIVILEGED.items() if intents & bit and name not in fake.privileged_intents
    ]
    if denied:
        detail = f"IDENTIFY asked for privileged intents not enabled in the portal: {denied}"
        fake.violations.append(Violation("disallowed_intents", detail, "GATEWAY", "/gateway", 4014))
        await session.close(4014, "Disallowed intent(s).")
        return
    shard = data.get("shard")
    if shard is not None:
        if len(shard) != 2 or not 0 <= shard[0] < shard[1]:
            await session.close(4010, "Invalid shard.")
            return
        session.shard = (shard[0], shard[1])
    session.intents = intents
    session.identified = True
    fake.session_registry[session.session_id] = session
    guilds = [g for g in fake.guilds.values() if g.joined and session.sees_guild(g.id)]
    ready: dict[str, Any] = {
        "v": 10,
        "user": payloads.user(fake.bot_user)
        | {"verified": True, "mfa_enabled": False, "flags": 0, "email": None},
        "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
        "session_id": session.session_id,
        "session_type": "normal",
        "resume_gateway_url": fake.gateway_url,
        "application": {"id": str(fake.app_id), "flags": fake.application_flags},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
    }
    if session.shard is not None:
        ready["shard"] = list(session.shard)
    await session.dispatch("READY", ready)
    for guild in guilds:
        await session.dispatch(
            "GUILD_CREATE", payloads.guild_create(fake, guild, all_members=session.has(GUILD_MEMBERS))
        )
    session.ready = True
    fake.notify()


async def _resume(fake: FakeDiscordBase, session: GatewaySession, data: dict[str, Any]) -> None:
    old = fake.session_registry.get(data.get("session_id", ""))
    if data.get("token") != fake.token:
        await session.close(4004, "Authentication failed.")
        return
    if old is None:
        await session.send(9, False)
        return
    session.session_id, session.intents, session.shard = old.session_id, old.intents, old.shard
    session.seq = max(old.seq, data.get("seq") or 0)
    session.identified = session.ready = True
    fake.session_registry[session.session_id] = session
    await session.dispatch("RESUMED", {})
    fake.notify()


async def _request_members(fake: FakeDiscordBase, session: GatewaySession, data: dict[str, Any]) -> None:
    guild = fake.guilds.get(int(data.get("guild_id", 0)))
    if guild is None:
        return
    query = (data.get("query") or "").lower()
    wanted = {int(x) for x in data.get("user_ids") or []}
    if wanted:
        members = [m for m in guild.members.values() if m.id in wanted]
    else:
        members = [m for m in guild.members.values() if m.user.name.lower().startswith(query)]
    limit = data.get("limit") or 0
    if limit:
        members = members[:limit]
    chunk = {
        "guild_id": str(guild.id),
        "members": [payloads.member(fake, m) for m in members],
        "chunk_index": 0,
        "chunk_count": 1,
        "not_found": [],
    }
    if data.get("nonce") is not None:
        chunk["nonce"] = data["nonce"]
    await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
