"""Plain state objects of the fake Discord: users, guilds, channels, messages, records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_GUILD = 1 << 5
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

# Channel types.
GUILD_TEXT = 0
DM = 1
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (10, PUBLIC_THREAD, PRIVATE_THREAD)
GUILD_FORUM = 15
# Channel flags.
REQUIRE_TAG = 1 << 4  # a forum whose posts need a tag

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7


@dataclass(eq=False)
class User:
    """A Discord user (or the bot's own user)."""

    id: int
    name: str
    bot: bool = False
    global_name: str | None = None

    @property
    def mention(self) -> str:
        """Return the ``<@id>`` mention string."""
        return f"<@{self.id}>"


@dataclass(eq=False)
class Role:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    mentionable: bool = False
    managed: bool = False

    @property
    def mention(self) -> str:
        """Return the ``<@&id>`` mention string."""
        return f"<@&{self.id}>"


@dataclass(eq=False)
class Channel:
    """A guild text channel, thread or DM channel."""

    id: int
    guild_id: int | None
    name: str
    type: int = GUILD_TEXT
    parent_id: int | None = None
    topic: str | None = None
    owner_id: int | None = None
    position: int = 0
    recipient: User | None = None
    # Permission overwrites by role or member id: (allow, deny, type 0 role / 1 member).
    overwrites: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    flags: int = 0
    archived: bool = False  # threads
    locked: bool = False  # threads
    applied_tags: list[int] = field(default_factory=list)  # forum posts
    available_tags: list[dict[str, Any]] = field(default_factory=list)  # forums

    @property
    def is_thread(self) -> bool:
        """Return whether the channel is a thread."""
        return self.type in THREAD_TYPES

    @property
    def mention(self) -> str:
        """Return the ``<#id>`` mention string."""
        return f"<#{self.id}>"


@dataclass(eq=False)
class Member:
    """A user's membership in a guild."""

    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: float = 0.0

    @property
    def id(self) -> int:
        """Return the user id."""
        return self.user.id


@dataclass(eq=False)
class Guild:
    """A guild with its channels, roles and members."""

    id: int
    name: str
    owner_id: int
    joined: bool = True
    channels: dict[int, Channel] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    system_channel_id: int | None = None

    def permissions_of(self, user_id: int) -> int:
        """Return the member's guild-level permissions (owner and administrator get all)."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.roles[self.id].permissions
        member = self.members.get(user_id)
        for role_id in member.role_ids if member else []:
            value |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value


@dataclass(eq=False)
class StoredAttachment:
    """Bytes served by the fake CDN, attached to a message or a command option."""

    id: int
    filename: str
    data: bytes
    channel_id: int
    content_type: str | None = None
    size: int = -1
    description: str | None = None

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = len(self.data)


@dataclass
class Pings:
    """Who a message notifies under Discord's allowed_mentions rules."""

    everyone: bool = False
    users: set[int] = field(default_factory=set)
    roles: set[int] = field(default_factory=set)
    replied_user: bool = False

    def __bool__(self) -> bool:
        return self.everyone or bool(self.users) or bool(self.roles) or self.replied_user


@dataclass(eq=False)
class Message:
    """A message as stored by the fake, whoever sent it."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: dict[str, Any] | None = None
    pings: Pings = field(default_factory=Pings)
    created_at: float = 0.0
    edited_at: float | None = None
    reference: dict[str, Any] | None = None
    type: int = 0
    interaction_id: int | None = None
    webhook_id: int | None = None
    tts: bool = False
    deleted: bool = False
    thread_id: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[str] = field(default_factory=list)  # emoji the bot added

    @property
    def ephemeral(self) -> bool:
        """Return whether only the invoking user can see the message."""
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Return whether this is a deferred "is thinking..." placeholder."""
        return bool(self.flags & LOADING)

    @property
    def pinging(self) -> bool:
        """Return whether the message notifies anyone."""
        return bool(self.pings)

    def button_ids(self) -> list[str]:
        """Return the custom_ids of all interactive components, in order."""
        found: list[str] = []
        stack = list(reversed(self.components))
        while stack:
            comp = stack.pop()
            if "custom_id" in comp:
                found.append(comp["custom_id"])
            stack.extend(reversed(comp.get("components", [])))
            if "component" in comp:
                stack.append(comp["component"])
            if "accessory" in comp:
                stack.append(comp["accessory"])
        return found


@dataclass(frozen=True)
class Violation:
    """A Discord rule the bot broke; ``status`` is the error sent (None if Discord would accept silently)."""

    kind: str
    detail: str
    method: str = ""
    path: str = ""
    status: int | None = None
    code: int | None = None
    interaction_id: int | None = None


@dataclass(frozen=True)
class RequestRecord:
    """One REST request the client made and the status it got."""

    method: str
    path: str
    route: str | None
    query: dict[str, str]
    body: Any
    status: int
    at: float
