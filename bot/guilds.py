"""Per-server settings and knowledge-base names; the rules of who may edit."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import discord

from retrieval.errors import PermissionDenied

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from config.settings import DiscordSettings
    from retrieval.aio import AsyncCitebot


def guild_id_of(interaction: discord.Interaction[Any]) -> int:
    """Return the server id of an interaction, refusing one from a DM."""
    if interaction.guild_id is None:
        raise discord.app_commands.NoPrivateMessage()
    return interaction.guild_id


def kb_for(guild_id: int) -> str:
    """Return the knowledge base of a server: derived from its id alone, never from user input."""
    return f"g{int(guild_id)}"


@dataclass(frozen=True)
class GuildConfig:
    """What a server's managers have configured."""

    editor_role_id: int | None = None
    answer_channels: tuple[int, ...] = ()
    ask_cooldown: float | None = None
    add_cooldown: float | None = None
    seeded: bool = False
    answer_style: Literal["compact", "full"] = "compact"
    only_sure: bool = False  # answers marked "not sure" are replaced by "not found"
    helper_role_id: int | None = None  # members who help in threads ("Ask a helper", /solved)
    # When to stay quiet in answer channels and forum posts (bot/quiet.py): each rule can be turned off.
    only_questions: bool = True  # answer only what reads as a question or a request
    skip_chatter: bool = True  # not greetings, thanks, short replies, or replies to other people
    quiet_after_staff: bool = True  # not once a helper or a moderator replied in the thread or post
    debounce: float | None = None  # seconds to wait for the asker's next messages (None: the default)
    max_thread_answers: int = 3  # answers per thread or post at most (0: no limit)
    dry_run: bool = False  # log what would be answered instead of answering
    refresh_days: int | None = None  # re-fetch URL articles every so many days (None: never)
    log_channel_id: int | None = None  # where upkeep summaries are posted (None: nowhere)

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> GuildConfig:
        """Build from a stored record (None: defaults)."""
        if not record:
            return cls()
        return cls(
            editor_role_id=record.get("editor_role_id"),
            answer_channels=tuple(int(c) for c in record.get("answer_channels", ())),
            ask_cooldown=record.get("ask_cooldown"),
            add_cooldown=record.get("add_cooldown"),
            seeded=bool(record.get("seeded", False)),
            answer_style="full" if record.get("answer_style") == "full" else "compact",
            only_sure=bool(record.get("only_sure", False)),
            helper_role_id=record.get("helper_role_id"),
            only_questions=bool(record.get("only_questions", True)),
            skip_chatter=bool(record.get("skip_chatter", True)),
            quiet_after_staff=bool(record.get("quiet_after_staff", True)),
            debounce=record.get("debounce"),
            max_thread_answers=int(record.get("max_thread_answers", 3)),
            dry_run=bool(record.get("dry_run", False)),
            refresh_days=record.get("refresh_days"),
            log_channel_id=record.get("log_channel_id"),
        )

    def cooldown(self, action: str, defaults: DiscordSettings) -> float:
        """Return the seconds between uses of an action: this server's, else the configured default."""
        own = getattr(self, f"{action}_cooldown", None)
        period = float(getattr(defaults, f"{action}_cooldown") if own is None else own)
        if action == "follow_up":  # its own allowance, never longer than the server's /ask one
            period = min(period, self.cooldown("ask", defaults))
        return period

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-able record of this config."""
        data = asdict(self)
        data["answer_channels"] = list(self.answer_channels)
        return data


class GuildConfigs:
    """Read and write server settings, cached for a few seconds (other shards may write)."""

    def __init__(self, service: AsyncCitebot, ttl: float = 30.0) -> None:
        self._service = service
        self._ttl = ttl
        self._cache: dict[int, tuple[float, GuildConfig]] = {}

    async def get(self, guild_id: int) -> GuildConfig:
        """Return a server's settings."""
        hit = self._cache.get(guild_id)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        config = GuildConfig.from_record(await self._service.guild_record(guild_id))
        self._cache[guild_id] = (time.monotonic(), config)
        return config

    def peek(self, guild_id: int) -> GuildConfig:
        """Return the cached settings without any I/O (defaults if never read)."""
        return self.cached(guild_id) or GuildConfig()

    def cached(self, guild_id: int) -> GuildConfig | None:
        """Return the settings last read, however old, or None if never read (no I/O)."""
        hit = self._cache.get(guild_id)
        return hit[1] if hit else None

    async def mark_seeded(self, guild_id: int) -> GuildConfig:
        """Record that a server received the seed articles."""
        return await self.update(guild_id, seeded=True)

    async def update(self, guild_id: int, **changes: Any) -> GuildConfig:
        """Change some of a server's settings and return the result."""
        self._cache.pop(guild_id, None)
        config = replace(await self.get(guild_id), **changes)
        await self._service.save_guild_record(guild_id, config.to_record())
        self._cache[guild_id] = (time.monotonic(), config)
        return config


def is_editor(member: discord.Member | discord.User, config: GuildConfig) -> bool:
    """Tell whether someone may add, remove, refresh articles or change settings."""
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    return config.editor_role_id is not None and any(r.id == config.editor_role_id for r in member.roles)


def is_manager(member: discord.Member | discord.User) -> bool:
    """Tell whether someone has Manage Server (needed to change settings)."""
    return isinstance(member, discord.Member) and (
        member.guild_permissions.manage_guild or member.guild_permissions.administrator
    )


NOT_EDITOR = "Only people with Manage Server or this server's editor role can change its articles."


async def require_editor(interaction: discord.Interaction[CitebotBot]) -> None:
    """Raise PermissionDenied unless the user may edit this server's articles."""
    config = await interaction.client.guild_config(guild_id_of(interaction))
    if not is_editor(interaction.user, config):
        raise PermissionDenied(NOT_EDITOR)
