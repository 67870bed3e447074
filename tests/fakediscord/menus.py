"""Message context menus (Apps → a command, on a message) and message jump links."""

from __future__ import annotations

import re

from . import payloads
from .actions import ActionsMixin
from .handle import InteractionHandle
from .interactions import COMMAND
from .models import Guild, Member, Message, User
from .options import user_of

MESSAGE_COMMAND = 3  # application command type of a message context menu
_JUMP = re.compile(r"^https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/(\d+|@me)/(\d+)/(\d+)$")


class MenusMixin(ActionsMixin):
    """Invoke message commands on messages, and follow the links that point at messages."""

    async def invoke_message_command(
        self,
        guild: Guild | None,
        user: User | Member,
        name: str,
        target: Message,
        *,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Right-click ``target`` → Apps → ``name``, as Discord's client sends it (type 2, data type 3)."""
        channel = self.channels[target.channel_id]
        if target.deleted or target.ephemeral:
            raise LookupError(f"message {target.id} is not shown to anyone, so it has no Apps menu")
        cmd = self.commands.find(guild.id if guild else None, name, MESSAGE_COMMAND)
        if cmd is None and self.require_registered_commands:
            raise LookupError(f"no message command {name!r} is registered; sync the command tree first")
        if cmd is not None:
            self._check_access(guild, channel, user_of(user), cmd)
        # The target comes whole, content included, even to an app without the message content intent.
        data = {
            "id": cmd["id"] if cmd else str(self.snowflake()),
            "name": name,
            "type": MESSAGE_COMMAND,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): payloads.message(self, target, with_reference=False)}},
        }
        if cmd and "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        handle = self._new_interaction(COMMAND, f"Apps → {name}", data, guild, channel, user, None, locale)
        return await self._dispatch(handle)

    def jump_url(self, message: Message) -> str:
        """Return a message's link, as Discord's "Copy Message Link" gives it."""
        return f"https://discord.com/channels/{message.guild_id or '@me'}/{message.channel_id}/{message.id}"

    def resolve_jump_link(self, url: str) -> Message | None:
        """Return the message a link leads to, or None if it leads nowhere (deleted, or not a message link)."""
        match = _JUMP.match(url.strip("<>"))
        if match is None:
            return None
        guild, channel_id, message_id = match.groups()
        msg = self.messages.get(int(message_id))
        if msg is None or msg.deleted or msg.ephemeral or msg.channel_id != int(channel_id):
            return None
        return msg if str(msg.guild_id or "@me") == guild else None
