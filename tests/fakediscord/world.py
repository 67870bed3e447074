"""World building: users, guilds, channels, roles and members (events are queued if the bot is connected)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from . import payloads
from .gateway import GUILD_MEMBERS, GatewaySession
from .messages import MessagesMixin
from .models import (
    DEFAULT_EVERYONE_PERMISSIONS,
    DM,
    GUILD_TEXT,
    MENTION_EVERYONE,
    Channel,
    Guild,
    Member,
    Role,
    User,
)

DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | MENTION_EVERYONE


class WorldMixin(MessagesMixin):
    """Create the guilds, people and channels a test needs."""

    """Create the guilds, people and channels a test needs; store and fan out messages."""

    def create_user(self, name: str, *, bot: bool = False) -> User:
        """Create a user that can join guilds."""
        user = User(self.snowflake(), name, bot=bot)
        self.users[user.id] = user
        return user

    def create_guild(
        self,
        name: str = "Test Guild",
        *,
        owner: User | None = None,
        joined: bool = True,
        channels: Sequence[str] = ("general",),
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    ) -> Guild:
        """Create a guild with an @everyone role, its owner, the bot (if ``joined``) and text channels."""
        owner = owner or self.create_user(f"{name} owner")
        guild = Guild(self.snowflake(), name, owner.id, joined=False)
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS)
        self.guilds[guild.id] = guild
        self.add_member(guild, owner)
        bot_role = self.create_role(guild, self.bot_user.name, permissions=bot_permissions)
        bot_role.managed = True
        self.add_member(guild, self.bot_user, roles=[bot_role])
        for channel_name in channels:
            self.create_channel(guild, channel_name)
        # New servers post join messages in their first channel, as Discord's default does.
        guild.system_channel_id = next(iter(guild.channels), None)
        guild.joined = joined
        if joined:
            self._emit_guild_create(guild)
        return guild

    async def join_guild(self, guild: Guild) -> None:
        """Add the bot to a guild at runtime and deliver GUILD_CREATE."""
        guild.joined = True
        self._emit_guild_create(guild)
        await self.drain()

    def _emit_guild_create(self, guild: Guild) -> None:
        def build(session: GatewaySession, _: Any) -> Any:
            return payloads.guild_create(self, guild, all_members=session.has(GUILD_MEMBERS), joining=True)

        self.emit("GUILD_CREATE", None, guild_id=guild.id, transform=build)

    def create_channel(
        self, guild: Guild, name: str, *, topic: str | None = None, kind: int = GUILD_TEXT
    ) -> Channel:
        """Create a guild channel (a text channel by default)."""
        channel = Channel(self.snowflake(), guild.id, name, kind, topic=topic, position=len(guild.channels))
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        if guild.joined:
            self.emit("CHANNEL_CREATE", payloads.channel(self, channel), guild_id=guild.id)
        return channel

    def bot_role(self, guild: Guild) -> Role:
        """Return the bot's managed role in a guild (created when the bot joined)."""
        return next(r for r in guild.roles.values() if r.managed and r.name == self.bot_user.name)

    def set_role_permissions(self, role: Role, permissions: int) -> None:
        """Change a role's guild-wide permissions and dispatch GUILD_ROLE_UPDATE."""
        role.permissions = permissions
        guild = self.guilds[role.guild_id]
        if guild.joined:
            data = {"guild_id": str(guild.id), "role": payloads.role(role, self)}
            self.emit("GUILD_ROLE_UPDATE", data, guild_id=guild.id)

    def set_overwrite(
        self, channel: Channel, target: Role | Member | Guild, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Set a channel's permission overwrite for a role, a member or @everyone (the guild)."""
        kind = 1 if isinstance(target, Member) else 0
        channel.overwrites[target.id] = (allow, deny, kind)
        if channel.guild_id is not None and self.guilds[channel.guild_id].joined:
            self.emit("CHANNEL_UPDATE", payloads.channel(self, channel), guild_id=channel.guild_id)

    def create_dm(self, user: User) -> Channel:
        """Create the DM channel between ``user`` and the bot."""
        channel = Channel(self.snowflake(), None, user.name, DM, recipient=user)
        self.channels[channel.id] = channel
        return channel

    def create_role(
        self, guild: Guild, name: str, *, permissions: int = 0, mentionable: bool = False
    ) -> Role:
        """Create a role in a guild."""
        role = Role(
            self.snowflake(), guild.id, name, permissions, position=len(guild.roles), mentionable=mentionable
        )
        guild.roles[role.id] = role
        if guild.joined:
            self.emit(
                "GUILD_ROLE_CREATE",
                {"guild_id": str(guild.id), "role": payloads.role(role, self)},
                guild_id=guild.id,
            )
        return role

    def add_member(
        self,
        guild: Guild,
        user: User | str,
        *,
        roles: Iterable[Role] = (),
        permissions: int | None = None,
        nick: str | None = None,
    ) -> Member:
        """Add a user (or a new user by name) to a guild; ``permissions`` adds a personal role with them."""
        if isinstance(user, str):
            user = self.create_user(user)
        role_ids = [r.id for r in roles]
        if permissions is not None:
            role_ids.append(self.create_role(guild, f"{user.name} permissions", permissions=permissions).id)
        member = Member(user, guild.id, role_ids, nick, joined_at=self.clock.time())
        guild.members[user.id] = member
        if guild.joined:
            data = payloads.member(self, member) | {"guild_id": str(guild.id)}
            self.emit("GUILD_MEMBER_ADD", data, guild_id=guild.id, intent=GUILD_MEMBERS)
        return member
