"""Build the JSON objects Discord sends (users, guilds, channels, messages)."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .models import DM, GUILD_FORUM, Channel, Guild, Member, Message, Role, StoredAttachment, User

if TYPE_CHECKING:
    from .server import FakeDiscordBase

ATTACHMENT_URL_TTL = 24 * 3600.0


def user(u: User) -> dict[str, Any]:
    """Return a user object."""
    return {
        "id": str(u.id),
        "username": u.name,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "bot": u.bot,
        "public_flags": 0,
    }


def role(r: Role, fake: FakeDiscordBase | None = None) -> dict[str, Any]:
    """Return a role object."""
    data: dict[str, Any] = {
        "id": str(r.id),
        "name": r.name,
        "permissions": str(r.permissions),
        "position": r.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": r.managed,
        "mentionable": r.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if (
        fake is not None and r.managed and r.name == fake.bot_user.name
    ):  # the bot's own role, as Discord tags it
        data["tags"] = {"bot_id": str(fake.bot_user.id)}
    return data


def channel(fake: FakeDiscordBase, c: Channel) -> dict[str, Any]:
    """Return a channel (or thread) object."""
    if c.type == DM:
        recipients = [user(c.recipient)] if c.recipient else []
        return {"id": str(c.id), "type": DM, "recipients": recipients, "last_message_id": None, "flags": 0}
    data: dict[str, Any] = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "position": c.position,
        "permission_overwrites": [
            {"id": str(target), "type": kind, "allow": str(allow), "deny": str(deny)}
            for target, (allow, deny, kind) in c.overwrites.items()
        ],
        "parent_id": str(c.parent_id) if c.parent_id else None,
        "nsfw": False,
        "topic": c.topic,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": c.flags,
    }
    if c.type == GUILD_FORUM:
        data |= {
            "available_tags": list(c.available_tags),
            "default_reaction_emoji": None,
            "default_sort_order": None,
            "default_forum_layout": 0,
            "default_thread_rate_limit_per_user": 0,
        }
    if c.is_thread:
        data |= {
            "owner_id": str(c.owner_id),
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "applied_tags": [str(t) for t in c.applied_tags],
            "thread_metadata": {
                "archived": c.archived,
                "auto_archive_duration": 1440,
                "archive_timestamp": fake.clock.iso(),
                "locked": c.locked,
                "create_timestamp": fake.clock.iso(),
            },
        }
    return data


def member(
    fake: FakeDiscordBase, m: Member, *, with_user: bool = True, permissions: int | None = None
) -> dict[str, Any]:
    """Return a guild member object, optionally with the interaction ``permissions`` field."""
    data: dict[str, Any] = {
        "roles": [str(r) for r in m.role_ids],
        "nick": m.nick,
        "avatar": None,
        "joined_at": fake.clock.iso(m.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(m.user)
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def guild_create(
    fake: FakeDiscordBase, g: Guild, *, all_members: bool, joining: bool = False
) -> dict[str, Any]:
    """Return a GUILD_CREATE object; without the members intent only the bot's member is sent.

    After READY the guild "becomes available" (``unavailable: false``); a guild joined later has no such key.
    """
    members = [m for m in g.members.values() if all_members or m.id == fake.bot_user.id]
    data = {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "system_channel_id": str(g.system_channel_id) if g.system_channel_id else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "vanity_url_code": None,
        "application_id": None,
        "max_members": 500000,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [role(r, fake) for r in g.roles.values()],
        "channels": [channel(fake, c) for c in g.channels.values() if not c.is_thread],
        "threads": [channel(fake, c) for c in g.channels.values() if c.is_thread],
        "members": [member(fake, m) for m in members],
        "member_count": len(g.members),
        "large": False,
        "unavailable": False,
        "joined_at": fake.clock.iso(),
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }
    if joining:
        del data["unavailable"]
    return data


def attachment_url(fake: FakeDiscordBase, a: StoredAttachment) -> str:
    """Return a signed, expiring URL on the fake CDN (like cdn.discordapp.com)."""
    issued = int(fake.clock.time())
    expires = issued + int(ATTACHMENT_URL_TTL)
    sig = sign(fake, a.id, expires)
    return f"{fake.url}/attachments/{a.channel_id}/{a.id}/{quote(a.filename)}?ex={expires:x}&is={issued:x}&hm={sig}&"


def sign(fake: FakeDiscordBase, attachment_id: int, expires: int) -> str:
    """Return the URL signature for an attachment and expiry."""
    return hmac.new(fake.secret, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def attachment(fake: FakeDiscordBase, a: StoredAttachment) -> dict[str, Any]:
    """Return an attachment object with a fresh signed URL."""
    url = attachment_url(fake, a)
    data: dict[str, Any] = {
        "id": str(a.id),
        "filename": a.filename,
        "size": a.size,
        "url": url,
        "proxy_url": url,
        "content_type": a.content_type,
        "flags": 0,
    }
    if a.description:
        data["description"] = a.description
    return data


def message(fake: FakeDiscordBase, m: Message, *, with_reference: bool = True) -> dict[str, Any]:
    """Return a message object as seen by the bot."""
    guild = fake.guilds.get(m.guild_id) if m.guild_id else None
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "type": m.type,
        "author": user(m.author),
        "content": m.content,
        "timestamp": fake.clock.iso(m.created_at),
        "edited_timestamp": fake.clock.iso(m.edited_at) if m.edited_at else None,
        "tts": m.tts,
        "mention_everyone": m.pings.everyone,
        "mentions": [_mentioned(fake, uid, guild) for uid in sorted(m.pings.users) if uid in fake.users],
        "mention_roles": [str(r) for r in sorted(m.pings.roles)],
        "attachments": [attachment(fake, a) for a in m.attachments],
        "embeds": m.embeds,
        "components": m.components,
        "pinned": False,
        "flags": m.flags,
        "reactions": [],
    }
    if guild is not None:
        data["guild_id"] = str(guild.id)
        if m.author.id in guild.members and m.webhook_id is None:
            data["member"] = member(fake, guild.members[m.author.id], with_user=False)
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
        data["application_id"] = str(fake.app_id)
    if m.reference:
        data["message_reference"] = {"type": 0, **m.reference}
        ref = fake.messages.get(int(m.reference.get("message_id", 0)))
        if with_reference and ref is not None:
            data["referenced_message"] = message(fake, ref, with_reference=False)
    if m.thread_id and m.thread_id in fake.channels:
        data["thread"] = channel(fake, fake.channels[m.thread_id])
    return data


def _mentioned(fake: FakeDiscordBase, user_id: int, guild: Guild | None) -> dict[str, Any]:
    data = user(fake.users[user_id])
    if guild is not None and user_id in guild.members:
        data["member"] = member(fake, guild.members[user_id], with_user=False)
    return data
