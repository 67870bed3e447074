"""Marking a question solved: the Solved button under answers in threads, and /solved.

A solved question is kept (ThreadRecord.solved_at/solved_by/solved_answer_id); in a forum post
the forum's "Solved" tag is applied, then the post is closed (archived); a thread is archived.
citebot never answers in a solved thread.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import guarded
from bot.guilds import guild_id_of, is_editor
from bot.helpdesk import thread_record
from bot.permissions import is_helper
from bot.render import plain
from bot.replies import reply
from retrieval.errors import InvalidInput, PermissionDenied
from retrieval.records import now

if TYPE_CHECKING:
    from bot.client import CitebotBot

log = logging.getLogger(__name__)

NOT_IN_THREAD = "Use /solved inside the thread or forum post of the question."
NOT_ALLOWED = "Only the person who asked, an editor or a helper can mark this question solved."
ALREADY = "This question is already marked solved."
NO_MANAGE_THREADS = (
    "Marked solved, but I couldn't close this {what}: I'm missing **Manage Threads** here. "
    "A server admin can grant it (channel settings → Permissions → citebot)."
)
MAX_APPLIED_TAGS = 5


def solved_text(name: str) -> str:
    """Return the public note that a question was solved (the name escaped: it pings or links nothing)."""
    return f"✅ Marked solved by {plain(name, 100)}. Thanks!"


def solved_tag(forum: discord.ForumChannel) -> discord.ForumTag | None:
    """Return the forum's "Solved" tag (by name, ignoring case, emoji and punctuation), if it has one."""
    return next((t for t in forum.available_tags if re.sub(r"\W", "", t.name).lower() == "solved"), None)


def tags_with(applied: list[discord.ForumTag], tag: discord.ForumTag) -> list[discord.ForumTag]:
    """Return a post's tags with `tag` added (a post carries 5 at most: the last ones give way)."""
    if any(t.id == tag.id for t in applied):
        return applied
    return [*applied[: MAX_APPLIED_TAGS - 1], tag]


async def close(thread: discord.Thread, me: discord.Member) -> str | None:
    """Apply the Solved tag (forum posts) and archive the thread; return a problem to tell, or None."""
    what = "post" if isinstance(thread.parent, discord.ForumChannel) else "thread"
    if thread.owner_id != me.id and not thread.permissions_for(me).manage_threads:
        return NO_MANAGE_THREADS.format(what=what)
    changes: dict[str, Any] = {"archived": True}
    if isinstance(thread.parent, discord.ForumChannel) and (tag := solved_tag(thread.parent)) is not None:
        changes["applied_tags"] = tags_with(list(thread.applied_tags), tag)
    try:
        await thread.edit(**changes)
    except discord.Forbidden:
        return NO_MANAGE_THREADS.format(what=what)
    return None


async def mark_solved(interaction: discord.Interaction[CitebotBot], answer_id: str | None) -> None:
    """Mark the interaction's thread solved (asker, editors, helpers), say so, then close it."""
    bot, thread, user = interaction.client, interaction.channel, interaction.user
    guild_id = guild_id_of(interaction)
    if not isinstance(thread, discord.Thread) or interaction.guild is None:
        raise InvalidInput(NOT_IN_THREAD)
    config = await bot.guild_config(guild_id)
    record = await thread_record(bot, thread)
    if not (user.id == record.asker_id or is_editor(user, config) or is_helper(user, config)):
        raise PermissionDenied(NOT_ALLOWED)
    if record.solved_at is not None:
        await reply(interaction, ALREADY, ephemeral=True)
        return
    await bot.service.save_thread(
        replace(record, solved_at=now(), solved_by=user.id, solved_answer_id=answer_id)
    )
    log.info("thread %s marked solved (answer %s)", thread.id, answer_id)
    # Said before closing: an archived thread takes no new messages.
    await reply(interaction, solved_text(user.display_name))
    problem = await close(thread, interaction.guild.me)
    if problem is not None:
        await reply(interaction, problem, ephemeral=True)


class SolvedButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cb:solved:(?P<aid>[0-9a-f]{12})"
):
    """ "Solved" under an answer in a thread or forum post: marks the question solved by that answer."""

    def __init__(self, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success,
                label="Solved",
                emoji="✅",
                custom_id=f"cb:solved:{answer_id}",
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SolvedButton:
        """Rebuild the button from its custom id."""
        return cls(match["aid"])

    async def callback(self, interaction: discord.Interaction[CitebotBot]) -> None:  # type: ignore[override]
        """Mark the thread solved by this answer."""
        await guarded(interaction, self._solve)

    async def _solve(self, interaction: discord.Interaction[CitebotBot]) -> None:
        record = await interaction.client.service.answer(self.answer_id)
        if record is not None and record.guild_id != interaction.guild_id:
            raise PermissionDenied("That answer belongs to another server.")
        # An abstention solved nothing itself: the thread is solved, with no answer to credit.
        await mark_solved(interaction, None if record is None or record.abstained else self.answer_id)
