"""Interactions: the handle tests hold, the callback endpoint and the followup webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads
from .errors import (
    ALREADY_ACKNOWLEDGED,
    INVALID_FORM_BODY,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    ApiError,
)
from .handle import InteractionHandle
from .models import EPHEMERAL, LOADING, Message
from .responses import json_response
from .server import INTERACTION_ID, Route
from .validation import check_choices, check_message, check_modal
from .world import WorldMixin

if TYPE_CHECKING:
    pass

_HOOK = "/webhooks/{app_id}/{token}"
WEBHOOK_ROUTES: tuple[Route, ...] = (
    ("POST", "/interactions/{interaction_id}/{token}/callback", "interaction_callback", "_callback", False),
    ("POST", _HOOK, "execute_webhook", "_execute_webhook", False),
    ("GET", _HOOK + "/messages/{message_id}", "get_webhook_message", "_get_webhook_message", False),
    ("PATCH", _HOOK + "/messages/{message_id}", "edit_webhook_message", "_edit_webhook_message", False),
    ("DELETE", _HOOK + "/messages/{message_id}", "delete_webhook_message", "_delete_webhook_message", False),
)
# Interaction type -> callback types Discord accepts for it.
VALID_RESPONSES = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5


class InteractionRoutesMixin(WorldMixin):
    """Handlers for POST /interactions/{id}/{token}/callback and the interaction webhooks."""

    def _check_answered(self, handle: InteractionHandle) -> None:
        if not handle.responded:
            tried = f" ({len(handle.callbacks)} rejected attempts)" if handle.callbacks else ""
            detail = f"{handle.name} not acknowledged within {self.response_deadline}s{tried}"
            self.violation("no_response", detail, interaction_id=handle.id)

    async def _callback(self, request: web.Request) -> web.Response:
        handle = self.interactions.get(int(request.match_info["interaction_id"]))
        body, files = await self.read_body(request)
        if handle is None or handle.token != request.match_info["token"]:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction", kind="unknown_interaction")
        request[INTERACTION_ID] = handle.id
        handle.callbacks.append(body)
        age = self.clock.time() - handle.created_at
        if handle.responded:
            detail = f"second initial response to {handle.name}"
            raise ApiError(
                400,
                ALREADY_ACKNOWLEDGED,
                "Interaction has already been acknowledged.",
                kind="already_responded",
                detail=detail,
            )
        if age > self.response_deadline:
            detail = f"{handle.name}: first response after {age:.2f}s (limit {self.response_deadline}s)"
            raise ApiError(
                404, UNKNOWN_INTERACTION, "Unknown interaction", kind="late_response", detail=detail
            )
        rtype, data = body.get("type"), body.get("data") or {}
        if rtype not in VALID_RESPONSES[handle.type] or (rtype in (6, 7) and handle.message is None):
            detail = f"response type {rtype} is not valid for interaction type {handle.type} ({handle.name})"
            errors = {"type": {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": detail}]}}
            raise ApiError(
                400,
                INVALID_FORM_BODY,
                "Invalid Form Body",
                kind="invalid_response_type",
                errors=errors,
                detail=detail,
            )
        if rtype in (4, 7):
            self.check_files(files)
            check_message(data, files=len(files), creating=rtype == 4, prefix="data.").raise_if_any()
        elif rtype == 8:
            check_choices(data.get("choices")).raise_if_any()
        elif rtype == 9:
            check_modal(data).raise_if_any()
        self._accept(handle, rtype, data, files)
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        original = handle.original
        result: dict[str, Any] = {
            "interaction": {
                "id": str(handle.id),
                "type": handle.type,
                "response_message_id": str(original.id) if original else None,
                "response_message_loading": rtype == 5,
                "response_message_ephemeral": bool(original and original.ephemeral),
            }
        }
        if original is not None and rtype in (4, 5, 7):
            result["resource"] = {"type": rtype, "message": payloads.message(self, original)}
        return json_response(result)

    def _accept(self, handle: InteractionHandle, rtype: int, data: dict[str, Any], files: list[Any]) -> None:
        handle.response_type = rtype
        handle.responded_at = self.clock.time()
        kind = 20 if handle.type == COMMAND else 0
        if rtype == 4:
            handle.original = self.store_message(
                handle.channel,
                self.bot_user,
                data,
                files,
                webhook_id=self.app_id,
                interaction_id=handle.id,
                kind=kind,
            )
            self.emit_message(handle.original)
        elif rtype == 5:
            flags = LOADING | ((data.get("flags") or 0) & EPHEMERAL)
            handle.original = self.store_message(
                handle.channel,
                self.bot_user,
                {},
                webhook_id=self.app_id,
                interaction_id=handle.id,
                kind=kind,
                flags=flags,
            )
            self.emit_message(handle.original)
        elif rtype == 6:
            handle.original = handle.message
        elif rtype == 7:
            assert handle.message is not None
            self.apply_edit(handle.message, data, files)
            handle.original = handle.message
        elif rtype == 8:
            handle.choices = data["choices"]
        elif rtype == 9:
            handle.modal = data
        self.notify()

    def _hook(self, request: web.Request) -> InteractionHandle:
        handle = self.tokens.get(request.match_info["token"])
        if handle is None or request.match_info["app_id"] != str(self.app_id):
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook", kind="unknown_webhook")
        request[INTERACTION_ID] = handle.id
        age = self.clock.time() - handle.created_at
        if age > self.token_lifetime:
            detail = f"{handle.name}: token used {age / 60:.1f} min after the interaction (lifetime 15 min)"
            raise ApiError(
                401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token", kind="token_expired", detail=detail
            )
        if not handle.responded:
            detail = f"{handle.name}: followup or edit before any accepted initial response"
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook", kind="not_acknowledged", detail=detail)
        return handle

    def _hook_message(self, request: web.Request, handle: InteractionHandle) -> Message:
        wanted = request.match_info["message_id"]
        for msg in handle.messages:
            named = (wanted == "@original" and msg is handle.original) or wanted == str(msg.id)
            if named and not msg.deleted:
                return msg
        raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message", kind="unknown_message")

    async def _execute_webhook(self, request: web.Request) -> web.Response:
        handle = self._hook(request)
        body, files = await self.read_body(request)
        self.check_files(files)
        check_message(body, files=len(files)).raise_if_any()
        original = handle.original
        if handle.response_type == 5 and original is not None and original.loading and not original.deleted:
            if (body.get("flags") or 0) & EPHEMERAL and not original.ephemeral:
                detail = (
                    f"{handle.name}: first followup asked for ephemeral after a public defer; it is public"
                )
                self.violation(
                    "ephemeral_ignored", detail, interaction_id=handle.id, method="POST", path=request.path
                )
            self.apply_edit(original, {k: v for k, v in body.items() if k != "flags"}, files)
            msg = original
        else:
            msg = self.store_message(
                handle.channel,
                self.bot_user,
                body,
                files,
                webhook_id=self.app_id,
                interaction_id=handle.id,
                kind=20,
            )
            handle.followups.append(msg)
            self.emit_message(msg)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(payloads.message(self, msg))
        return web.Response(status=204)

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        handle = self._hook(request)
        return json_response(payloads.message(self, self._hook_message(request, handle)))

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        handle = self._hook(request)
        msg = self._hook_message(request, handle)
        body, files = await self.read_body(request)
        self.check_files(files)
        check_message(body, creating=False).raise_if_any()
        self.apply_edit(msg, body, files)
        return json_response(payloads.message(self, msg))

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        handle = self._hook(request)
        self.delete_message(self._hook_message(request, handle))
        return web.Response(status=204)
