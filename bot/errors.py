"""The one error helper: every failure becomes a reply the person can read, and bugs are logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.render import NO_PINGS, message_text
from bot.replies import reply
from retrieval.errors import CitebotError

log = logging.getLogger(__name__)

GENERIC_FAILURE = "Sorry, something went wrong on my side. The error was logged; please try again later."
DM_EXPLANATION = (
    "I answer questions about the articles of a server, so I only work inside servers. "
    "Use my commands in a server channel, or mention me there."
)


def user_message(error: BaseException) -> str | None:
    """Return the text to show for a user-caused error, or None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, CitebotError):
        return str(error)
    if isinstance(error, app_commands.CheckFailure):
        if isinstance(error, app_commands.NoPrivateMessage):
            return DM_EXPLANATION
        return str(error) or "You can't use this command here."
    if isinstance(error, app_commands.TransformerError | app_commands.CommandSignatureMismatch):
        return "That command is out of date or got a value it can't use; please try again."
    return None


async def report(
    to: discord.Interaction[Any] | discord.Message, error: BaseException, where: str, **context: Any
) -> None:
    """Reply privately (or in reply to a message) with the error's text; log bugs with their traceback."""
    text = user_message(error)
    if text is None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        log.error("%s failed (%s)", where, context, exc_info=cause)
        text = GENERIC_FAILURE
    try:
        if isinstance(to, discord.Message):
            await to.channel.send(
                message_text(text), allowed_mentions=NO_PINGS, reference=to, mention_author=False
            )
        else:
            await reply(to, text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error reply (%s)", where, exc_info=True)


async def guarded(
    interaction: discord.Interaction[Any], action: Callable[[discord.Interaction[Any]], Awaitable[None]]
) -> None:
    """Run a component callback, turning errors into replies (components have no tree on_error)."""
    try:
        await action(interaction)
    except Exception as exc:  # noqa: BLE001 - the error boundary for components
        custom_id = interaction.data.get("custom_id") if interaction.data else None
        await report(interaction, exc, "a button", custom_id=custom_id)
