"""A local fake Discord (REST, gateway, interactions, CDN) that the real discord.py runs against.

async with FakeDiscord() as fake:
    guild = fake.create_guild("Test Guild")
    channel, alice = next(iter(guild.channels.values())), fake.add_member(guild, "alice")
    async with running_bot(fake, bot):          # patches discord.py, logs in, waits for on_ready
        await bot.tree.sync()
        handle = await fake.invoke_command(guild, channel, alice, "ask", {"question": "why?"})
        await handle.wait_done()
        assert handle.original.content.startswith("answer")
    fake.assert_no_violations()
"""

from __future__ import annotations

from .clock import FakeClock
from .forums import FORUM_ROUTES, ForumsMixin
from .handle import InteractionHandle
from .interactions import WEBHOOK_ROUTES
from .menus import MenusMixin
from .models import (
    Channel,
    Guild,
    Member,
    Message,
    Pings,
    RequestRecord,
    Role,
    StoredAttachment,
    User,
    Violation,
)
from .rest import REST_ROUTES, RestMixin
from .runner import patch_discord, running_bot


class FakeDiscord(ForumsMixin, MenusMixin, RestMixin):
    """The fake Discord: ``async with FakeDiscord() as fake:`` then build a world and run a bot."""

    ROUTES = REST_ROUTES + WEBHOOK_ROUTES + FORUM_ROUTES

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self


__all__ = [
    "Channel",
    "FakeClock",
    "FakeDiscord",
    "Guild",
    "InteractionHandle",
    "Member",
    "Message",
    "Pings",
    "RequestRecord",
    "Role",
    "StoredAttachment",
    "User",
    "Violation",
    "patch_discord",
    "running_bot",
]
