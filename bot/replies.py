"""Reply to an interaction correctly whether it was answered, deferred or has expired."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.render import NO_PINGS, message_text

log = logging.getLogger(__name__)


async def reply(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    view: discord.ui.View | None = None,
    ephemeral: bool = False,
) -> None:
    """Send a reply by whichever path is still open, never pinging anyone."""
    kwargs: dict[str, Any] = {"allowed_mentions": NO_PINGS}
    if content is not None:
        kwargs["content"] = message_text(content)
    if embed is not None:
        kwargs["embed"] = embed
    if view is not None:
        kwargs["view"] = view
    if not interaction.response.is_done():
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
    elif not interaction.is_expired():
        if ephemeral:
            await _drop_public_placeholder(interaction)
        await interaction.followup.send(ephemeral=ephemeral, **kwargs)
    elif interaction.channel is not None and isinstance(interaction.channel, discord.abc.Messageable):
        # The 15-minute token is gone: a plain channel message is the only way left.
        if ephemeral:
            log.info("dropping an ephemeral reply: interaction %s expired", interaction.id)
            return
        await interaction.channel.send(**kwargs)


async def _drop_public_placeholder(interaction: discord.Interaction[Any]) -> None:
    """Delete a public "is thinking…" message: the first followup would fill it, and stay public."""
    if interaction.response.type is not discord.InteractionResponseType.deferred_channel_message:
        return
    try:
        original = await interaction.original_response()
        if original.flags.loading and not original.flags.ephemeral:
            await interaction.delete_original_response()
    except discord.HTTPException:
        log.debug("could not check the deferred response of interaction %s", interaction.id)
