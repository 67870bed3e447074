"""What simulated users do: run slash commands, type for autocomplete, click, submit modals, post."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from . import payloads
from .handle import InteractionHandle
from .interactions import AUTOCOMPLETE, COMMAND, COMPONENT, MODAL_SUBMIT, InteractionRoutesMixin
from .models import Channel, Guild, Member, Message, Role, StoredAttachment, User
from .options import command_options, find_component, modal_values, user_of
from .permissions import channel_permissions, check_command_access
from .validation import check_modal_values


class ActionsMixin(InteractionRoutesMixin):
    """Test-facing user actions that dispatch gateway events to the bot."""

    async def wait_until_connected(self, timeout: float = 5.0) -> None:
        """Wait until a gateway session has received READY and its GUILD_CREATEs."""
        await self.wait_until(lambda: any(s.ready for s in self.sessions), timeout, "the bot to connect")

    async def flush(self) -> None:
        """Deliver every queued gateway event (e.g. from world building after connect)."""
        await self.drain()

    async def send_message(
        self,
        channel: Channel,
        author: User | Member,
        content: str = "",
        *,
        mentions: Sequence[User | Member | Role] = (),
        embeds: Sequence[dict[str, Any]] = (),
        attachments: Sequence[StoredAttachment] = (),
        reply_to: Message | None = None,
    ) -> Message:
        """Post a message as a user; each of ``mentions`` is put in the content (``<@id>``) if missing."""
        user = user_of(author)
        self._require_member(channel, user)
        self.unarchive_for(channel, user)  # type: ignore[attr-defined]
        for target in mentions:
            token = target.mention if not isinstance(target, Member) else target.user.mention
            if token not in content:
                content = f"{token} {content}".strip()
        body: dict[str, Any] = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to.id)}
        msg = self.store_message(channel, user, body)
        msg.attachments = list(attachments)
        self.emit_message(msg)
        await self.drain()
        return msg

    async def invoke_command(
        self,
        guild: Guild | None,
        channel: Channel,
        user: User | Member,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
    ) -> InteractionHandle:
        """Run ``/name`` (``"group sub"`` for sub-commands) with option values, like a user would."""
        parts = name.split()
        resolved: dict[str, Any] = {}
        cmd = self._registered(guild, parts[0])
        if cmd is not None:
            self._check_access(guild, channel, user_of(user), cmd)
        data = self._command_data(cmd, parts[0])
        data["options"] = command_options(
            self, cmd, parts, dict(options or {}), resolved, guild, focused=None
        )
        if resolved:
            data["resolved"] = resolved
        handle = self._new_interaction(
            COMMAND, "/" + name, data, guild, channel, user, None, locale, attachment_size_limit
        )
        return await self._dispatch(handle)

    async def autocomplete(
        self,
        guild: Guild | None,
        channel: Channel,
        user: User | Member,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Type into option ``focused`` of ``/name``; the handle's ``choices`` get the bot's answer."""
        parts = name.split()
        cmd = self._registered(guild, parts[0])
        data = self._command_data(cmd, parts[0])
        data["options"] = command_options(self, cmd, parts, dict(options), {}, guild, focused=focused)
        handle = self._new_interaction(
            AUTOCOMPLETE, f"autocomplete /{name}", data, guild, channel, user, None, locale
        )
        return await self._dispatch(handle)

    async def click_button(
        self, message: Message, user: User | Member, custom_id: str, *, values: Sequence[str] | None = None
    ) -> InteractionHandle:
        """Click a button (or pick ``values`` in a select menu) on a message."""
        comp = find_component(message, custom_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp.get("type", 2)}
        if values is not None:
            data["values"] = list(values)
        channel = self.channels[message.channel_id]
        guild = self.guilds.get(message.guild_id or 0)
        handle = self._new_interaction(
            COMPONENT, f"component {custom_id}", data, guild, channel, user, message
        )
        return await self._dispatch(handle)

    async def submit_modal(
        self, opened_by: InteractionHandle, values: Mapping[str, Any], *, user: User | Member | None = None
    ) -> InteractionHandle:
        """Fill in and submit the modal the bot opened in answer to ``opened_by`` (a list for a select)."""
        modal = opened_by.modal
        if modal is None:
            raise LookupError(f"{opened_by.name} did not open a modal")
        check_modal_values(modal, values)

        data = {
            "custom_id": modal["custom_id"],
            "components": modal_values(modal.get("components", []), values),
        }
        handle = self._new_interaction(
            MODAL_SUBMIT,
            f"modal {modal['custom_id']}",
            data,
            opened_by.guild,
            opened_by.channel,
            user or opened_by.user,
            opened_by.message,
        )
        return await self._dispatch(handle)

    def permit_command(self, guild: Guild, name: str, member: Member) -> None:
        """Let a member use a command its default permissions hide (an admin's override in Integrations)."""
        self.command_overrides.setdefault((guild.id, name), set()).add(member.id)

    # -- helpers ---------------------------------------------------------------------------------
    def _check_access(self, guild: Guild | None, channel: Channel, user: User, cmd: dict[str, Any]) -> None:
        if guild is not None and user.id in self.command_overrides.get((guild.id, cmd["name"]), ()):
            return
        perms = channel_permissions(self, guild, user.id, channel) if guild is not None else 0
        check_command_access(guild, perms, cmd, user.id)

    def _require_member(self, channel: Channel, user: User) -> None:
        guild = self.guilds.get(channel.guild_id or 0)
        if guild is not None and user.id not in guild.members:
            raise LookupError(f"{user.name} is not a member of {guild.name}; call fake.add_member first")

    def _registered(self, guild: Guild | None, name: str) -> dict[str, Any] | None:
        cmd = self.commands.find(guild.id if guild else None, name)
        if cmd is None and self.require_registered_commands:
            raise LookupError(
                f"/{name} is not registered with the fake Discord; sync the command tree first "
                "or construct FakeDiscord(require_registered_commands=False)"
            )
        return cmd

    def _command_data(self, cmd: dict[str, Any] | None, name: str) -> dict[str, Any]:
        """Return an application command's interaction data, before its options."""
        data: dict[str, Any] = {"id": cmd["id"] if cmd else str(self.snowflake()), "name": name, "type": 1}
        if cmd and "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        return data

    def _new_interaction(
        self,
        kind: int,
        name: str,
        data: dict[str, Any],
        guild: Guild | None,
        channel: Channel,
        who: User | Member,
        message: Message | None,
        locale: str = "en-US",
        size_limit: int | None = None,
    ) -> InteractionHandle:
        user = user_of(who)
        self._require_member(channel, user)
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        handle = InteractionHandle(
            self,
            id=self.snowflake(),
            token=token,
            type=kind,
            name=name,
            guild=guild,
            channel=channel,
            user=user,
            message=message,
        )
        payload: dict[str, Any] = {
            "id": str(handle.id),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "channel_id": str(channel.id),
            "channel": payloads.channel(self, channel),
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "attachment_size_limit": size_limit or self.attachment_size_limit,
        }
        if guild is not None:
            perms = channel_permissions(self, guild, user.id, channel)
            payload |= {
                "guild_id": str(guild.id),
                "guild_locale": "en-US",
                "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
                "member": payloads.member(self, guild.members[user.id], permissions=perms),
                "app_permissions": str(channel_permissions(self, guild, self.bot_user.id, channel)),
                "authorizing_integration_owners": {"0": str(guild.id)},
                "context": 0,
            }
        else:
            payload |= {
                "user": payloads.user(user),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
        if message is not None:
            payload["message"] = payloads.message(self, message)
        handle.payload = payload
        return handle

    async def _dispatch(self, handle: InteractionHandle) -> InteractionHandle:
        self.interactions[handle.id] = handle
        self.tokens[handle.token] = handle
        handle.created_at = self.clock.time()
        guild_id = handle.guild.id if handle.guild else None
        if not self.emit("INTERACTION_CREATE", handle.payload, guild_id=guild_id, single=True):
            raise RuntimeError("no bot session is connected to the fake gateway")
        await self.drain()
        timer = asyncio.get_running_loop().call_later(
            self.response_deadline + 0.05, self._check_answered, handle
        )
        self._timers.append(timer)
        return handle
