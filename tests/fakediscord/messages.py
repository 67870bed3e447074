"""Message storage: create, edit, delete, threads, attachments, and fan-out to the gateway."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import payloads
from .errors import EMPTY_MESSAGE, ENTITY_TOO_LARGE, ApiError, FormErrors
from .gateway import DIRECT_MESSAGES, GUILD_MESSAGES, MESSAGE_CONTENT, GatewaySession
from .models import EPHEMERAL, LOADING, PUBLIC_THREAD, Channel, Message, StoredAttachment, User
from .permissions import pingable
from .server import FakeDiscordBase
from .validation import compute_pings, is_empty

FileTuple = tuple[str, bytes, str | None]


class MessagesMixin(FakeDiscordBase):
    """Store the messages everyone sends and announce them to the bot."""

    def add_attachment(
        self,
        channel: Channel,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = None,
        size: int | None = None,
        description: str | None = None,
    ) -> StoredAttachment:
        """Upload bytes to the fake CDN; ``size`` may claim more than ``len(data)`` to fake a huge file."""
        att = StoredAttachment(
            self.snowflake(),
            filename,
            data,
            channel.id,
            content_type,
            -1 if size is None else size,
            description,
        )
        self.attachments[att.id] = att
        return att

    def check_files(self, files: Sequence[FileTuple]) -> None:
        """Reject more than 10 files or any file over the upload limit."""
        errors = FormErrors()
        errors.max_len("files", files, 10)
        errors.raise_if_any()
        for name, data, _ in files:
            if len(data) > self.attachment_size_limit:
                detail = f"{name} is {len(data)} bytes, over the {self.attachment_size_limit} byte limit"
                raise ApiError(
                    413, ENTITY_TOO_LARGE, "Request entity too large", kind="payload_too_large", detail=detail
                )

    def _new_attachments(
        self, channel: Channel, body: dict[str, Any], files: Sequence[FileTuple]
    ) -> list[StoredAttachment]:
        described = {str(a.get("id")): a for a in body.get("attachments") or []}
        found = []
        for index, (name, data, ctype) in enumerate(files):
            meta = described.get(str(index), {})
            att = self.add_attachment(channel, meta.get("filename") or name, data, content_type=ctype)
            att.description = meta.get("description")
            found.append(att)
        return found

    def store_message(
        self,
        channel: Channel,
        author: User,
        body: dict[str, Any],
        files: Sequence[FileTuple] = (),
        *,
        webhook_id: int | None = None,
        interaction_id: int | None = None,
        kind: int = 0,
        flags: int | None = None,
        message_id: int | None = None,
    ) -> Message:
        """Store a new message built from a create-message body (already validated)."""
        reference = body.get("message_reference")
        replied_user = None
        if reference:
            target = self.messages.get(int(reference.get("message_id") or 0))
            if target is None or target.deleted:
                if reference.get("fail_if_not_exists", True):
                    FormErrors(
                        [("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")]
                    ).raise_if_any()
                reference = None
            else:
                replied_user = target.author.id
                reference = {"message_id": str(target.id), "channel_id": str(target.channel_id)}
                if target.guild_id:
                    reference["guild_id"] = str(target.guild_id)
        content = str(body.get("content") or "")
        allowed = body.get("allowed_mentions")
        msg = Message(
            id=message_id or self.snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            content=content,
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            attachments=self._new_attachments(channel, body, files),
            flags=(body.get("flags") or 0) if flags is None else flags,
            allowed_mentions=allowed,
            pings=pingable(
                self, channel, author.id, compute_pings(content, allowed, replied_user_id=replied_user)
            ),
            created_at=self.clock.time(),
            reference=reference,
            type=19 if reference and kind == 0 else kind,
            interaction_id=interaction_id,
            webhook_id=webhook_id,
            tts=bool(body.get("tts")),
        )
        self.messages[msg.id] = msg
        self.notify()
        return msg

    def apply_edit(self, msg: Message, body: dict[str, Any], files: Sequence[FileTuple] = ()) -> None:
        """Apply an edit body to a message; raise 50006 if nothing would be left to show."""
        content = (body["content"] or "") if "content" in body else msg.content
        embeds = (body["embeds"] or []) if "embeds" in body else msg.embeds
        components = (body["components"] or []) if "components" in body else msg.components
        attachments = msg.attachments
        if "attachments" in body:
            keep = {str(a.get("id")) for a in body["attachments"] or []}
            attachments = [a for a in msg.attachments if str(a.id) in keep]
        attachments = attachments + self._new_attachments(self.channels[msg.channel_id], body, files)
        if is_empty({"content": content, "embeds": embeds, "components": components}, len(attachments)):
            raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message", kind="empty_message")
        was_loading = msg.loading
        msg.history.append(
            {"content": msg.content, "embeds": msg.embeds, "components": msg.components, "flags": msg.flags}
        )
        msg.content, msg.embeds, msg.components, msg.attachments = content, embeds, components, attachments
        if "allowed_mentions" in body:
            msg.allowed_mentions = body["allowed_mentions"]
        if body.get("flags") is not None:  # ephemerality and loading cannot be changed by an edit
            msg.flags = (msg.flags & (EPHEMERAL | LOADING)) | (body["flags"] & ~(EPHEMERAL | LOADING))
        msg.flags &= ~LOADING
        if was_loading:  # filling a deferred response is its first real send: mentions notify now
            channel = self.channels[msg.channel_id]
            msg.pings = pingable(self, channel, msg.author.id, compute_pings(content, msg.allowed_mentions))
        else:
            msg.edited_at = self.clock.time()
        if not msg.ephemeral:
            self.emit("MESSAGE_UPDATE", payloads.message(self, msg), guild_id=msg.guild_id)
        self.notify()

    def delete_message(self, msg: Message) -> None:
        """Mark a message deleted and announce it."""
        msg.deleted = True
        if not msg.ephemeral:
            data = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id:
                data["guild_id"] = str(msg.guild_id)
            self.emit("MESSAGE_DELETE", data, guild_id=msg.guild_id)
        self.notify()

    def open_thread(
        self,
        parent: Channel,
        name: str,
        *,
        kind: int = PUBLIC_THREAD,
        thread_id: int | None = None,
        owner: User | None = None,
    ) -> Channel:
        """Create a thread under ``parent`` (owned by the bot unless ``owner``) and dispatch THREAD_CREATE."""
        owner_id = (owner or self.bot_user).id
        thread = Channel(
            thread_id or self.snowflake(), parent.guild_id, name, kind, parent.id, owner_id=owner_id
        )
        assert parent.guild_id is not None
        self.guilds[parent.guild_id].channels[thread.id] = thread
        self.channels[thread.id] = thread
        data = payloads.channel(self, thread) | {"newly_created": True}
        self.emit("THREAD_CREATE", data, guild_id=parent.guild_id)
        self.notify()
        return thread

    def emit_message(self, msg: Message) -> bool:
        """Dispatch MESSAGE_CREATE, blanking content for sessions without the message content intent."""
        if msg.ephemeral:
            return False

        def redact(session: GatewaySession, data: dict[str, Any]) -> dict[str, Any]:
            if session.has(MESSAGE_CONTENT) or not self.content_private(msg):
                return data
            return data | {"content": "", "embeds": [], "attachments": [], "components": []}

        intent = GUILD_MESSAGES if msg.guild_id else DIRECT_MESSAGES
        return self.emit(
            "MESSAGE_CREATE",
            payloads.message(self, msg),
            guild_id=msg.guild_id,
            intent=intent,
            transform=redact,
        )

    def content_private(self, msg: Message) -> bool:
        """Tell whether a message's content is hidden from an app without the message content intent."""
        bot_id = self.bot_user.id
        return not (msg.author.id == bot_id or bot_id in msg.pings.users or msg.guild_id is None)

    def messages_in(self, channel: Channel, *, include_deleted: bool = False) -> list[Message]:
        """Return a channel's messages, oldest first (ephemeral ones included, flagged)."""
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel.id and (include_deleted or not m.deleted)
        ]

    def bot_messages(self, channel: Channel | None = None) -> list[Message]:
        """Return the bot's messages (REST and interaction), oldest first."""
        return [
            m
            for m in self.messages.values()
            if m.author is self.bot_user and (channel is None or m.channel_id == channel.id) and not m.deleted
        ]

    async def wait_for_message(
        self,
        *,
        channel: Channel | None = None,
        check: Callable[[Message], bool] | None = None,
        timeout: float = 5.0,
    ) -> Message:
        """Wait for the next bot message (not loading) sent after this call, matching ``check``."""
        since = max(self.messages, default=0)

        def found() -> Message | None:
            for msg in self.bot_messages(channel):
                if msg.id > since and not msg.loading and (check is None or check(msg)):
                    return msg
            return None

        return await self.wait_until(found, timeout, "a bot message")
