"""The command tree: the single error boundary for slash commands."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.replies import reply
from retrieval.errors import CitebotError

if TYPE_CHECKING:
    from bot.client import CitebotBot

log = logging.getLogger(__name__)

GENERIC_FAILURE = "Sorry, something went wrong on my side. The error was logged; please try again later."
STALE_COMMAND = (
    "This command changed since it was registered with Discord, so I can't run it. "
    "Please ask a server admin to run `citebot sync`."
)
DM_EXPLANATION = (
    "I answer questions about the articles of a server, so I only work inside servers. "
    "Use my commands in a server channel, or mention me there."
)


class CitebotTree(app_commands.CommandTree["CitebotBot"]):
    """A command tree whose on_error turns every failure into a reply the user can read."""

    async def interaction_check(self, interaction: discord.Interaction[CitebotBot]) -> bool:
        """Refuse commands outside servers with a polite explanation."""
        if interaction.guild_id is None and interaction.type is not discord.InteractionType.autocomplete:
            await reply(interaction, DM_EXPLANATION, ephemeral=True)
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction[CitebotBot], error: app_commands.AppCommandError
    ) -> None:
        """Reply with the error's own message if the user caused it, else a generic one."""
        cause: BaseException = error
        if isinstance(error, app_commands.CommandInvokeError):
            cause = error.original
        message = user_message(cause)
        if message is None:
            name = interaction.command.qualified_name if interaction.command else "?"
            log.error("command /%s failed", name, exc_info=cause)
            message = GENERIC_FAILURE
        try:
            await reply(interaction, message, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not deliver an error reply for interaction %s", interaction.id, exc_info=True)


def user_message(error: BaseException) -> str | None:
    """Return the text to show for a user-caused error, or None for a bug."""
    if isinstance(error, CitebotError):
        return str(error)
    if isinstance(error, app_commands.CheckFailure):
        if isinstance(error, app_commands.NoPrivateMessage):
            return DM_EXPLANATION
        return str(error) or "You can't use this command here."
    if isinstance(error, app_commands.CommandSignatureMismatch | app_commands.CommandNotFound):
        return STALE_COMMAND
    if isinstance(error, app_commands.TransformerError):
        return "I couldn't use a value you gave (it may no longer exist); please try again with another."
    return None


def error_text(error: BaseException) -> tuple[str, bool]:
    """Return (text, is_bug) for an error outside the tree (buttons, messages)."""
    message = user_message(error)
    return (GENERIC_FAILURE, True) if message is None else (message, False)


def log_unexpected(where: str, error: BaseException, **context: Any) -> None:
    """Log an unexpected failure with its traceback and context."""
    log.error("%s failed (%s)", where, context, exc_info=error)
