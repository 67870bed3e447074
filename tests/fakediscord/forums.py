"""Forum channels, forum posts, tags and thread state (archived, locked), with Discord's rules.

- A forum (type 15) has at most 20 ``available_tags``; nobody sends messages to it directly:
  each post is a public thread whose first message has the thread's id.
- A post carries at most 5 ``applied_tags``, all of its forum's; a forum flagged REQUIRE_TAG
  refuses a post (or an edit) without one.
- Editing someone else's thread (tags, archived, locked) needs Manage Threads; the owner may edit
  its own post, but locking or unarchiving a locked thread always needs Manage Threads.
- An archived thread refuses new messages from the bot (50083) and any edit but unarchiving;
  a person posting in it unarchives it (unless it is locked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from . import payloads
from .errors import THREAD_ARCHIVED, ApiError, FormErrors
from .messages import MessagesMixin
from .models import (
    GUILD_FORUM,
    MANAGE_THREADS,
    PUBLIC_THREAD,
    REQUIRE_TAG,
    Channel,
    Guild,
    Member,
    Message,
    User,
)
from .options import user_of
from .permissions import MISSING_PERMISSIONS, channel_permissions, require
from .responses import json_response
from .server import Route

MAX_AVAILABLE_TAGS = 20
MAX_APPLIED_TAGS = 5
FORUM_ROUTES: tuple[Route, ...] = (
    ("PATCH", "/channels/{channel_id}", "edit_channel", "_edit_channel", True),
)
_THREAD_FIELDS = {
    "name",
    "archived",
    "locked",
    "applied_tags",
    "auto_archive_duration",
    "rate_limit_per_user",
}


class ForumsMixin(MessagesMixin):
    """Create forums and posts as people do; edit threads as the bot does (PATCH /channels/{id})."""

    def create_forum(
        self, guild: Guild, name: str, *, tags: Sequence[str] = (), require_tag: bool = False
    ) -> Channel:
        """Create a forum channel with tags (by name; at most 20)."""
        if len(tags) > MAX_AVAILABLE_TAGS:
            raise ValueError(f"a forum has at most {MAX_AVAILABLE_TAGS} tags")
        forum = Channel(self.snowflake(), guild.id, name, GUILD_FORUM, position=len(guild.channels))
        forum.available_tags = [
            {
                "id": str(self.snowflake()),
                "name": tag,
                "moderated": False,
                "emoji_id": None,
                "emoji_name": None,
            }
            for tag in tags
        ]
        forum.flags = REQUIRE_TAG if require_tag else 0
        guild.channels[forum.id] = forum
        self.channels[forum.id] = forum
        if guild.joined:
            self.emit("CHANNEL_CREATE", payloads.channel(self, forum), guild_id=guild.id)
        return forum

    def tag_id(self, forum: Channel, name: str) -> int:
        """Return the id of a forum's tag by name."""
        return next(int(t["id"]) for t in forum.available_tags if t["name"] == name)

    async def create_forum_post(
        self,
        forum: Channel,
        author: User | Member,
        title: str,
        content: str,
        *,
        tags: Sequence[str] = (),
    ) -> tuple[Channel, Message]:
        """Open a post in a forum as a person: the thread, then its first message (same id)."""
        user = user_of(author)
        guild = self.guilds[forum.guild_id or 0]
        if user.id not in guild.members:
            raise LookupError(f"{user.name} is not a member of {guild.name}")
        tag_ids = [str(self.tag_id(forum, t)) for t in tags]
        self.check_post(forum, title, {"content": content}, tag_ids).raise_if_any()
        return self.open_post(forum, user, title, {"content": content}, tag_ids)

    def check_post(self, forum: Channel, name: Any, message: Any, tag_ids: list[str]) -> FormErrors:
        """Check a new post: a forum, a 1-100 character title, a first message, valid tags."""
        if forum.type != GUILD_FORUM:
            raise ApiError(400, 50024, "Cannot execute action on this channel type", kind="bad_channel_type")
        errors = FormErrors()
        errors.between("name", name, 1, 100)
        if not isinstance(message, dict) or not (message.get("content") or message.get("embeds")):
            errors.add("message", "BASE_TYPE_REQUIRED", "A forum post needs a first message")
        self.check_tags(errors, forum, tag_ids)
        return errors

    def check_tags(self, errors: FormErrors, forum: Channel, tag_ids: list[str]) -> None:
        """Record tag errors: at most 5, all the forum's own, one at least if the forum requires it."""
        errors.max_len("applied_tags", tag_ids, MAX_APPLIED_TAGS)
        known = {t["id"] for t in forum.available_tags}
        for i, tag in enumerate(tag_ids):
            if str(tag) not in known:
                errors.add(f"applied_tags.{i}", "UNKNOWN_TAG", f"Tag {tag} is not one of this forum's tags")
        if forum.flags & REQUIRE_TAG and not tag_ids:
            errors.add("applied_tags", "TAG_REQUIRED", "This forum requires a tag")

    def open_post(
        self, forum: Channel, owner: User, title: str, message: dict[str, Any], tag_ids: list[str]
    ) -> tuple[Channel, Message]:
        """Create a post (already checked) and announce the thread, then its first message."""
        thread = Channel(self.snowflake(), forum.guild_id, title, PUBLIC_THREAD, forum.id, owner_id=owner.id)
        thread.applied_tags = [int(t) for t in tag_ids]
        assert forum.guild_id is not None
        self.guilds[forum.guild_id].channels[thread.id] = thread
        self.channels[thread.id] = thread
        self.emit(
            "THREAD_CREATE", payloads.channel(self, thread) | {"newly_created": True}, guild_id=forum.guild_id
        )
        first = self.store_message(thread, owner, message, message_id=thread.id)
        self.emit_message(first)
        self.notify()
        return thread, first

    def unarchive_for(self, thread: Channel, user: User) -> None:
        """Let a person post in a channel: never a forum itself; an archived thread reopens unless locked."""
        if thread.type == GUILD_FORUM:
            raise ValueError(f"#{thread.name} is a forum: open a post with create_forum_post")
        if not thread.archived:
            return
        guild = self.guilds[thread.guild_id or 0]
        if thread.locked and not channel_permissions(self, guild, user.id, thread) & MANAGE_THREADS:
            raise PermissionError(f"{user.name} cannot post in the locked thread {thread.name}")
        thread.archived = False
        self.emit("THREAD_UPDATE", payloads.channel(self, thread), guild_id=thread.guild_id)

    async def _edit_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)  # type: ignore[attr-defined]
        body, _ = await self.read_body(request)
        if not channel.is_thread:
            raise ApiError(
                400, 50024, "The fake edits threads only", kind="unsupported_edit", detail=str(body)
            )
        unknown = set(body) - _THREAD_FIELDS
        if unknown:
            raise ApiError(
                400, 50035, "Invalid Form Body", kind="invalid_form_body", detail=f"fields {unknown}"
            )
        self._check_thread_edit(channel, body)
        if "applied_tags" in body:
            channel.applied_tags = [int(t) for t in body["applied_tags"]]
        if "name" in body:
            channel.name = body["name"]
        channel.locked = bool(body.get("locked", channel.locked))
        channel.archived = bool(body.get("archived", channel.archived))
        data = payloads.channel(self, channel)
        self.emit("THREAD_UPDATE", data, guild_id=channel.guild_id)
        self.notify()
        return json_response(data)

    def _check_thread_edit(self, thread: Channel, body: dict[str, Any]) -> None:
        """Apply Discord's rules for editing a thread: archived state, permissions, tags."""
        if thread.archived and body.get("archived") is not False:
            raise ApiError(400, THREAD_ARCHIVED, "Thread is archived", kind="archived_thread")
        guild = self.guilds[thread.guild_id or 0]
        manages = bool(channel_permissions(self, guild, self.bot_user.id, thread) & MANAGE_THREADS)
        own = thread.owner_id == self.bot_user.id
        locking = "locked" in body or (thread.locked and body.get("archived") is False)
        if not manages and (locking or not own):
            what = "lock or unlock a thread" if locking else "edit another person's thread"
            raise ApiError(
                403,
                MISSING_PERMISSIONS,
                "Missing Permissions",
                kind="missing_permissions",
                detail=f"{what} in #{thread.name} without Manage Threads",
            )
        errors = FormErrors()
        if "name" in body:
            errors.between("name", body["name"], 1, 100)
        if "applied_tags" in body:
            parent = self.channels.get(thread.parent_id or 0)
            if parent is None or parent.type != GUILD_FORUM:
                errors.add("applied_tags", "INVALID", "Only forum posts have tags")
            else:
                self.check_tags(errors, parent, [str(t) for t in body["applied_tags"] or []])
        errors.raise_if_any()
        require(self, thread, 0, "editing a thread")


__all__ = ["FORUM_ROUTES", "THREAD_ARCHIVED", "ForumsMixin"]
