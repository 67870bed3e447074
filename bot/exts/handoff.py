"""Ask a helper: the button that survives restarts (its setting is `/citebot settings helper-role`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handoff import AskHelperButton

if TYPE_CHECKING:
    from bot.client import CitebotBot


async def setup(bot: CitebotBot) -> None:
    """Register the "Ask a helper" button."""
    bot.add_dynamic_items(AskHelperButton)
