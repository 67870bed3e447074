"""REST routes: login, application info, commands, channels, messages, threads, CDN."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from . import payloads
from .errors import (
    CANNOT_EDIT_OTHERS,
    MISSING_ACCESS,
    THREAD_ALREADY_EXISTS,
    THREAD_ARCHIVED,
    UNKNOWN_CHANNEL,
    UNKNOWN_MESSAGE,
    ApiError,
    FormErrors,
)
from .models import (
    ADD_REACTIONS,
    CREATE_PUBLIC_THREADS,
    DM,
    GUILD_FORUM,
    MANAGE_MESSAGES,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    Channel,
    Message,
)
from .permissions import require, send_permissions
from .responses import json_response
from .server import FakeDiscordBase, Route
from .validation import check_message

_APP = "/applications/{app_id}"
_GUILD_CMDS = _APP + "/guilds/{guild_id}/commands"
_MSG = "/channels/{channel_id}/messages/{message_id}"

REST_ROUTES: tuple[Route, ...] = (
    ("GET", "/users/@me", "get_me", "_get_me", True),
    ("GET", "/gateway", "get_gateway", "_get_gateway", False),
    ("GET", "/gateway/bot", "get_gateway_bot", "_get_gateway_bot", True),
    ("GET", "/oauth2/applications/@me", "get_application", "_get_application", True),
    ("GET", "/applications/@me", "get_application_me", "_get_application", True),
    ("GET", _APP + "/commands", "get_commands", "_get_commands", True),
    ("PUT", _APP + "/commands", "bulk_commands", "_put_commands", True),
    ("POST", _APP + "/commands", "create_command", "_post_command", True),
    ("GET", _APP + "/commands/{command_id}", "get_command", "_get_command", True),
    ("DELETE", _APP + "/commands/{command_id}", "delete_command", "_delete_command", True),
    ("GET", _GUILD_CMDS, "get_guild_commands", "_get_commands", True),
    ("PUT", _GUILD_CMDS, "bulk_guild_commands", "_put_commands", True),
    ("POST", _GUILD_CMDS, "create_guild_command", "_post_command", True),
    ("GET", _GUILD_CMDS + "/{command_id}", "get_guild_command", "_get_command", True),
    ("DELETE", _GUILD_CMDS + "/{command_id}", "delete_guild_command", "_delete_command", True),
    ("GET", "/channels/{channel_id}", "get_channel", "_get_channel", True),
    ("GET", "/channels/{channel_id}/messages", "get_messages", "_get_messages", True),
    ("POST", "/channels/{channel_id}/messages", "create_message", "_create_message", True),
    ("GET", _MSG, "get_message", "_get_message", True),
    ("PATCH", _MSG, "edit_message", "_edit_message", True),
    ("DELETE", _MSG, "delete_message", "_delete_message", True),
    ("PUT", _MSG + "/reactions/{emoji}/@me", "add_reaction", "_add_reaction", True),
    ("POST", "/channels/{channel_id}/typing", "typing", "_typing", True),
    ("POST", "/users/@me/channels", "create_dm", "_create_dm", True),
    ("POST", "/channels/{channel_id}/threads", "start_thread", "_start_thread", True),
    ("POST", _MSG + "/threads", "start_thread_from_message", "_start_thread", True),
    ("GET", "/users/{user_id}", "get_user", "_get_user", True),
    ("GET", "/attachments/{channel_id}/{attachment_id}/{filename}", "attachment", "_attachment", False),
    ("GET", "/cdn/{tail:.*}", "cdn", "_cdn", False),
)


class RestMixin(FakeDiscordBase):
    """Handlers of the bot-token REST API."""

    async def _get_me(self, request: web.Request) -> web.Response:
        extra = {"verified": True, "mfa_enabled": False, "flags": 0, "email": None, "locale": "en-US"}
        return json_response(payloads.user(self.bot_user) | extra)

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": str(self.app_id),
                "name": self.bot_user.name,
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": payloads.user(self.app_owner),
                "team": None,
                "verify_key": "0" * 64,
                "flags": self.application_flags,
                "bot": payloads.user(self.bot_user),
                "interactions_endpoint_url": None,
                "redirect_uris": [],
            }
        )

    # -- application commands --------------------------------------------------------------------
    def _scope(self, request: web.Request) -> int | None:
        if request.match_info["app_id"] != str(self.app_id):
            raise ApiError(
                403, MISSING_ACCESS, "Missing Access", kind="missing_access", detail="wrong application id"
            )
        if "guild_id" not in request.match_info:
            return None
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None or not guild.joined:
            detail = f"bot is not in guild {request.match_info['guild_id']}"
            raise ApiError(403, MISSING_ACCESS, "Missing Access", kind="missing_access", detail=detail)
        return guild.id

    def _check_daily_creates(self, scope: int | None) -> None:
        if self.commands.creates.count(scope) > 200:
            self.violation(
                "daily_command_creates", f"more than 200 command creates for scope {scope} in a day"
            )

    async def _get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.commands.list(self._scope(request)))

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        body, _ = await self.read_body(request)
        if not isinstance(body, list):
            FormErrors([("_root", "BASE_TYPE_ARRAY", "Must be an array")]).raise_if_any()
        result = self.commands.overwrite(scope, body)
        self._check_daily_creates(scope)
        return json_response(result)

    async def _post_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        body, _ = await self.read_body(request)
        stored, created = self.commands.upsert(scope, body)
        self._check_daily_creates(scope)
        return json_response(stored, 201 if created else 200)

    def _command(self, request: web.Request) -> tuple[int | None, dict[str, Any]]:
        scope = self._scope(request)
        cmd = self.commands.by_id(scope, int(request.match_info["command_id"]))
        if cmd is None:
            raise ApiError(404, 10063, "Unknown application command", kind="unknown_command")
        return scope, cmd

    async def _get_command(self, request: web.Request) -> web.Response:
        return json_response(self._command(request)[1])

    async def _delete_command(self, request: web.Request) -> web.Response:
        scope, cmd = self._command(request)
        self.commands.delete(scope, int(cmd["id"]))
        return web.Response(status=204)

    # -- channels and messages -------------------------------------------------------------------
    def _channel(self, request: web.Request) -> Channel:
        channel = self.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel", kind="unknown_channel")
        if channel.guild_id is not None and not self.guilds[channel.guild_id].joined:
            raise ApiError(
                403, MISSING_ACCESS, "Missing Access", kind="missing_access", detail="bot left the guild"
            )
        return channel

    def _message(self, request: web.Request, channel: Channel) -> Message:
        msg = self.messages.get(int(request.match_info["message_id"]))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message", kind="unknown_message")
        return msg

    async def _get_channel(self, request: web.Request) -> web.Response:
        return json_response(payloads.channel(self, self._channel(request)))

    async def _get_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        require(self, channel, READ_MESSAGE_HISTORY, "reading the message history")
        limit = min(int(request.query.get("limit", 50)), 100)
        before = int(request.query.get("before", 0)) or None
        after = int(request.query.get("after", 0))
        found = [
            m
            for m in self.messages_in(channel)
            if not m.ephemeral and m.id > after and (before is None or m.id < before)
        ]
        found = found[:limit] if after else found[-limit:]
        return json_response([self._as_fetched(m) for m in reversed(found)])

    async def _create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body, files = await self.read_body(request)
        self.check_files(files)
        check_message(body, files=len(files)).raise_if_any()
        require(self, channel, send_permissions(channel, body), "sending a message")
        if channel.type == GUILD_FORUM:  # a forum holds posts, not messages
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel", kind="bad_channel_type")
        if channel.archived:
            raise ApiError(400, THREAD_ARCHIVED, "Thread is archived", kind="archived_thread")
        msg = self.store_message(channel, self.bot_user, body, files)
        self.emit_message(msg)
        return json_response(payloads.message(self, msg))

    async def _get_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        require(self, channel, READ_MESSAGE_HISTORY, "reading a message")
        return json_response(self._as_fetched(self._message(request, channel)))

    def _as_fetched(self, msg: Message) -> dict[str, Any]:
        """Return a fetched message: its content blank for an app without the message content intent."""
        data = payloads.message(self, msg)
        if "message_content" in self.privileged_intents or not self.content_private(msg):  # type: ignore[attr-defined]
            return data
        return data | {"content": "", "embeds": [], "attachments": [], "components": []}

    async def _edit_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(request, channel)
        if msg.author is not self.bot_user:
            detail = "Cannot edit a message authored by another user"
            raise ApiError(403, CANNOT_EDIT_OTHERS, detail, kind="cannot_edit_others")
        body, files = await self.read_body(request)
        self.check_files(files)
        check_message(body, creating=False).raise_if_any()
        self.apply_edit(msg, body, files)
        return json_response(payloads.message(self, msg))

    async def _delete_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(request, channel)
        guild = self.guilds.get(channel.guild_id or 0)
        if (
            msg.author is not self.bot_user
            and guild
            and not guild.permissions_of(self.bot_user.id) & MANAGE_MESSAGES
        ):
            raise ApiError(
                403, 50013, "Missing Permissions", kind="missing_permissions", detail="delete others' message"
            )
        self.delete_message(msg)
        return web.Response(status=204)

    async def _typing(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        needed = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        require(self, channel, needed, "typing")
        return web.Response(status=204)

    async def _add_reaction(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(request, channel)
        require(self, channel, ADD_REACTIONS | READ_MESSAGE_HISTORY, "reacting")
        msg.reactions.append(request.match_info["emoji"])
        self.notify()
        return web.Response(status=204)

    async def _create_dm(self, request: web.Request) -> web.Response:
        body, _ = await self.read_body(request)
        user = self.users.get(int(body.get("recipient_id") or 0))
        if user is None:
            raise ApiError(400, 50035, "Invalid Form Body", kind="unknown_user", detail="no such recipient")
        found = next((c for c in self.channels.values() if c.type == DM and c.recipient is user), None)
        channel = found or self.create_dm(user)  # type: ignore[attr-defined]
        return json_response(payloads.channel(self, channel))

    async def _start_thread(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body, _ = await self.read_body(request)
        errors = FormErrors()
        errors.between("name", body.get("name"), 1, 100)
        errors.raise_if_any()
        if channel.is_thread or channel.guild_id is None:
            raise ApiError(400, 50024, "Cannot execute action on this channel type", kind="bad_channel_type")
        if channel.type == GUILD_FORUM:  # a post: the thread and its first message in one request
            require(self, channel, SEND_MESSAGES, "creating a forum post")
            tags = [str(t) for t in body.get("applied_tags") or []]
            self.check_post(channel, body.get("name"), body.get("message"), tags).raise_if_any()  # type: ignore[attr-defined]
            post, _ = self.open_post(channel, self.bot_user, body["name"], body["message"], tags)  # type: ignore[attr-defined]
            return json_response(payloads.channel(self, post), 201)
        require(self, channel, CREATE_PUBLIC_THREADS, "creating a thread")
        if "message_id" in request.match_info:
            msg = self._message(request, channel)
            if msg.thread_id is not None:
                detail = "A thread has already been created for this message"
                raise ApiError(400, THREAD_ALREADY_EXISTS, detail, kind="thread_exists")
            thread = self.open_thread(channel, body["name"], thread_id=msg.id, kind=PUBLIC_THREAD)
            msg.thread_id = thread.id
        else:
            thread = self.open_thread(channel, body["name"], kind=body.get("type") or PUBLIC_THREAD)
        return json_response(payloads.channel(self, thread), 201)

    async def _get_user(self, request: web.Request) -> web.Response:
        found = self.users.get(int(request.match_info["user_id"]))
        if found is None:
            raise ApiError(404, 10013, "Unknown User", kind="unknown_user")
        return json_response(payloads.user(found))

    # -- CDN -------------------------------------------------------------------------------------
    async def _attachment(self, request: web.Request) -> web.Response:
        att = self.attachments.get(int(request.match_info["attachment_id"]))
        try:
            expires = int(request.query.get("ex", "0"), 16)
        except ValueError:
            expires = 0
        signature = request.query.get("hm", "")
        if att is None or str(att.channel_id) != request.match_info["channel_id"]:
            return web.Response(status=404, text="Not Found")
        if not hmac.compare_digest(signature, payloads.sign(self, att.id, expires)):
            return web.Response(status=404, text="This content is no longer available.")
        if expires < self.clock.time():
            self.violation("expired_attachment_url", f"fetched {att.filename} with an expired signed URL")
            return web.Response(status=404, text="This content is no longer available.")
        return web.Response(
            body=att.data, headers={"Content-Type": att.content_type or "application/octet-stream"}
        )

    async def _cdn(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="asset not found")
