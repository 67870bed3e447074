"""Ask a helper: the button under an abstention (and after a 👎) that pings the server's helper role.

The one place in citebot that may ping anyone: the message it posts mentions the helper role and
its `allowed_mentions` name that role alone. It works once per question, at most once per
`discord.helper_cooldown` seconds in a server, and citebot then stays quiet in that thread
until someone @mentions it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import guarded
from bot.guilds import guild_id_of, is_editor
from bot.render import clip, escape, message_text
from retrieval.errors import InvalidInput, NotFound, PermissionDenied, RateLimited
from retrieval.records import AnswerRecord, ThreadRecord, now

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from bot.guilds import GuildConfig

log = logging.getLogger(__name__)

LABEL = "Ask a helper"
QUOTE_MAX = 1500  # of the question, in the hand-off message (the rest of 2,000 is the sentence around it)
ALREADY = "A helper was already called for this question."
NOT_YOURS = "Only the person who asked (or an editor) can call a helper for this question."
NO_ROLE = "This server no longer has a helper role, so there is no one to call."


def helper_mentions(role_id: int) -> discord.AllowedMentions:
    """Return the allowed mentions of a hand-off: the helper role, and nobody else."""
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(id=role_id)], replied_user=False
    )


def helper_message(role_id: int, caller: str, question: str, abstained: bool) -> str:
    """Return the hand-off text: the role's mention, who calls, and the question (escaped: it pings no one)."""
    why = "I couldn't answer it from the articles" if abstained else "my answer didn't help"
    head = f"<@&{role_id}> **{clip(escape(caller), 100)}** would like a helper here ({why}):"
    return message_text(f"{head}\n> {clip(escape(' '.join(question.split())), QUOTE_MAX)}")


class AskHelperButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cb:helper:(?P<aid>[0-9a-f]{12})"
):
    """Ping the server's helper role about an answer's question (kept working across restarts)."""

    def __init__(self, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary, label=LABEL, emoji="🙋", custom_id=f"cb:helper:{answer_id}"
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> AskHelperButton:
        """Rebuild the button from its custom id."""
        return cls(match["aid"])

    async def callback(self, interaction: discord.Interaction[CitebotBot]) -> None:  # type: ignore[override]
        """Call a helper (once per question, rate-limited per server)."""
        await guarded(interaction, lambda i: hand_off(i, self.answer_id))


async def add_helper_button(bot: CitebotBot, guild_id: int, answer_id: str, view: discord.ui.View) -> None:
    """Add the "Ask a helper" button to a view when the server has a helper role."""
    if (await bot.guild_config(guild_id)).helper_role_id is not None:
        view.add_item(AskHelperButton(answer_id))


async def helper_view(bot: CitebotBot, guild_id: int, answer_id: str) -> discord.ui.View | None:
    """Return a view with the "Ask a helper" button, or None when the server has no helper role."""
    view = discord.ui.View(timeout=None)
    await add_helper_button(bot, guild_id, answer_id, view)
    return view if view.children else None


def may_call(user: discord.Member | discord.User, record: AnswerRecord, config: GuildConfig) -> bool:
    """Tell whether someone may call a helper for an answer: the person who asked, or an editor."""
    return user.id == record.user_id or is_editor(user, config)


async def hand_off(interaction: discord.Interaction[CitebotBot], answer_id: str) -> None:
    """Record the hand-off, then post the one message that pings the helper role."""
    bot = interaction.client
    guild_id = guild_id_of(interaction)
    record = await bot.service.answer(answer_id)
    if record is None or record.guild_id != guild_id:
        raise NotFound("I no longer have that answer; please ask again.")
    config = await bot.guild_config(guild_id)
    if config.helper_role_id is None or (
        interaction.guild is not None and interaction.guild.get_role(config.helper_role_id) is None
    ):
        raise InvalidInput(NO_ROLE)
    if record.handed_off_at is not None:
        raise InvalidInput(ALREADY)
    if not may_call(interaction.user, record, config):
        raise PermissionDenied(NOT_YOURS)
    try:
        await bot.cooldown("helper", guild_id, 0)  # one bucket for the whole server
    except RateLimited as exc:
        raise RateLimited(
            f"A helper was called in this server recently; you can call one again in {exc.retry_after:g} s.",
            exc.retry_after,
        ) from exc
    # Recorded first, so a second press or the next message in the thread already sees it.
    await _record(bot, interaction.channel, record, answer_id)
    text = helper_message(
        config.helper_role_id, interaction.user.display_name, record.question, record.abstained
    )
    # An interaction reply needs no channel permission, and shows as a reply to the answer.
    await interaction.response.send_message(text, allowed_mentions=helper_mentions(config.helper_role_id))
    log.info("server %s: a helper was called for answer %s", guild_id, answer_id)


async def _record(bot: CitebotBot, channel: Any, record: AnswerRecord, answer_id: str) -> None:
    """Mark the answer handed off, and its thread (citebot stays quiet there until mentioned)."""
    at = now()
    await bot.service.save_answer(answer_id, dataclasses.replace(record, handed_off_at=at))
    if isinstance(channel, discord.Thread):
        thread = await bot.service.thread(channel.id) or ThreadRecord(
            guild_id=record.guild_id, thread_id=channel.id, asker_id=record.user_id
        )
        await bot.service.save_thread(dataclasses.replace(thread, handed_off_at=at))
