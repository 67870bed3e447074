"""Discord's permission rules: channel overwrites, 403 Missing Permissions, who sees a command.

The computation follows Discord's documented algorithm: the @everyone role and the member's
roles give the base; Administrator (or owning the server) grants everything; then the
channel's @everyone overwrite, the member's role overwrites (denies, then allows, combined),
and the member's own overwrite apply. Without View Channel nothing else counts. Threads use
their parent channel's overwrites.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    MENTION_EVERYONE,
    VIEW_CHANNEL,
    Channel,
    Guild,
    Pings,
)

if TYPE_CHECKING:
    from .server import FakeDiscordBase

MISSING_PERMISSIONS = 50013
# Names for the permission bits the rules below check (used in violation details).
NAMES = {
    1 << 6: "Add Reactions",
    1 << 10: "View Channel",
    1 << 11: "Send Messages",
    1 << 14: "Embed Links",
    1 << 16: "Read Message History",
    1 << 35: "Create Public Threads",
    1 << 38: "Send Messages in Threads",
}
# Interaction contexts (https://discord.com/developers/docs/interactions/receiving-and-responding).
GUILD_CONTEXT, BOT_DM_CONTEXT, PRIVATE_CHANNEL_CONTEXT = 0, 1, 2


def channel_permissions(fake: FakeDiscordBase, guild: Guild, user_id: int, channel: Channel) -> int:
    """Return a member's permissions in a channel (or thread), overwrites applied."""
    base = guild.permissions_of(user_id)
    if base & ADMINISTRATOR or user_id == guild.owner_id:
        return ALL_PERMISSIONS
    source = fake.channels.get(channel.parent_id or 0, channel) if channel.is_thread else channel
    overwrites = source.overwrites
    allow, deny, _ = overwrites.get(guild.id, (0, 0, 0))
    value = (base & ~deny) | allow
    member = guild.members.get(user_id)
    role_ids = member.role_ids if member else []
    role_allow = role_deny = 0
    for role_id in role_ids:
        a, d, _ = overwrites.get(role_id, (0, 0, 0))
        role_allow |= a
        role_deny |= d
    value = (value & ~role_deny) | role_allow
    a, d, _ = overwrites.get(user_id, (0, 0, 0))
    value = (value & ~d) | a
    return value if value & VIEW_CHANNEL else 0


def require(fake: FakeDiscordBase, channel: Channel, needed: int, action: str) -> None:
    """Raise 403 Missing Permissions unless the bot has every bit of ``needed`` in the channel."""
    if channel.guild_id is None:
        return
    guild = fake.guilds[channel.guild_id]
    have = channel_permissions(fake, guild, fake.bot_user.id, channel)
    if not have & VIEW_CHANNEL:
        needed |= VIEW_CHANNEL
    lacking = needed & ~have
    if lacking:
        names = ", ".join(name for bit, name in NAMES.items() if lacking & bit) or hex(lacking)
        detail = f"{action} in #{channel.name} without {names}"
        raise ApiError(
            403, MISSING_PERMISSIONS, "Missing Permissions", kind="missing_permissions", detail=detail
        )


def send_permissions(channel: Channel, body: dict[str, Any]) -> int:
    """Return the permissions Discord needs to create this message in this channel."""
    from .models import EMBED_LINKS, READ_MESSAGE_HISTORY, SEND_MESSAGES, SEND_MESSAGES_IN_THREADS

    needed = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
    if body.get("embeds"):
        needed |= EMBED_LINKS
    if body.get("message_reference"):
        needed |= READ_MESSAGE_HISTORY
    return needed


def check_command_access(guild: Guild | None, member_perms: int, cmd: dict[str, Any], user_id: int) -> None:
    """Refuse (as Discord's client does, by not offering it) a command this user cannot use here.

    ``default_member_permissions`` hides a command from members without those permissions
    (Administrator always sees it; "0" hides it from everyone but administrators), and
    ``contexts`` says where a command exists at all.
    """
    contexts = cmd.get("contexts")
    where = GUILD_CONTEXT if guild is not None else BOT_DM_CONTEXT
    if contexts is not None and where not in contexts:
        place = "in a server" if guild is not None else "in a DM with the bot"
        raise PermissionError(f"/{cmd['name']} is not available {place} (contexts {contexts})")
    if guild is None and contexts is None and cmd.get("dm_permission") is False:
        raise PermissionError(f"/{cmd['name']} is not available in DMs (dm_permission false)")
    required = cmd.get("default_member_permissions")
    if guild is None or required is None or member_perms & ADMINISTRATOR or user_id == guild.owner_id:
        return
    if int(required) & ~member_perms or int(required) == 0:
        raise PermissionError(
            f"/{cmd['name']} is hidden from this member: it needs permissions {required} "
            "(default_member_permissions) and no override allows it"
        )


def pingable(fake: FakeDiscordBase, channel: Channel, author_id: int, pings: Pings) -> Pings:
    """Keep the pings Discord delivers: @everyone and unmentionable roles need Mention Everyone."""
    if channel.guild_id is None:
        return Pings(users=pings.users, replied_user=pings.replied_user)
    guild = fake.guilds[channel.guild_id]
    can_all = bool(channel_permissions(fake, guild, author_id, channel) & MENTION_EVERYONE)
    roles = {r for r in pings.roles if r in guild.roles and (guild.roles[r].mentionable or can_all)}
    return Pings(pings.everyone and can_all, pings.users, roles, pings.replied_user)
