"""Answering for a server, and the buttons under every answer: feedback and more sources.

Shared by /ask and @mentions (extensions never import each other).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import guarded
from bot.guilds import guild_id_of, kb_for
from bot.render import answer_embed
from bot.replies import reply
from retrieval.answerability import withhold_unsure
from retrieval.errors import NotFound, PermissionDenied
from retrieval.records import AnswerRecord, FeedbackRecord

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from retrieval.models import Answer

log = logging.getLogger(__name__)


async def answer_question(
    bot: CitebotBot,
    guild_id: int,
    user: discord.abc.User,
    question: str,
    context: str | None = None,
    *,
    show_draft: Callable[[discord.Embed], Coroutine[Any, Any, object]] | None = None,
) -> tuple[discord.Embed, discord.ui.View]:
    """Answer a question for a server and return the embed and its buttons.

    With an LLM configured and show_draft given, verified sentences are shown as they come.
    """
    kb = await bot.ensure_guild(guild_id)
    on_draft = None
    if show_draft is not None and bot.service.has_llm:
        loop = asyncio.get_running_loop()

        def on_draft(draft: Answer) -> None:
            # Runs in the worker thread: wait for each edit, so drafts never overtake the answer.
            embed = answer_embed(draft, asked_by=user.display_name, writing=True)
            try:
                asyncio.run_coroutine_threadsafe(show_draft(embed), loop).result(timeout=10)
            except Exception:  # a lost draft edit must not lose the answer
                log.warning("could not show a draft answer", exc_info=True)

    answer = await bot.service.ask(question, kb, context=context, on_draft=on_draft)
    if (await bot.guild_config(guild_id)).only_sure:
        answer = withhold_unsure(answer)
    answer_id = secrets.token_hex(6)
    record = AnswerRecord(
        guild_id=guild_id,
        user_id=user.id,
        question=answer.question,
        context=context,
        answer=answer.answer,
        abstained=answer.abstained,
        cited=tuple(c.article_id for c in answer.citations),
        shown=len(answer.citations),
    )
    await bot.service.save_answer(answer_id, record)
    return answer_embed(answer, asked_by=user.display_name), AnswerView(answer_id, answer)


class AnswerView(discord.ui.View):
    """The buttons under an answer; they keep working after a restart (dynamic items)."""

    def __init__(self, answer_id: str, answer: Answer) -> None:
        super().__init__(timeout=None)
        if not answer.abstained:
            self.add_item(FeedbackButton(answer_id, "up"))
            self.add_item(FeedbackButton(answer_id, "down"))
        self.add_item(MoreSourcesButton(answer_id))


async def _answer_record(interaction: discord.Interaction[CitebotBot], answer_id: str) -> AnswerRecord:
    record = await interaction.client.service.answer(answer_id)
    if record is None:
        raise NotFound("I no longer have that answer; please ask again.")
    if record.guild_id != interaction.guild_id:
        raise PermissionDenied("That answer belongs to another server.")
    return record


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cb:fb:(?P<vote>up|down):(?P<aid>[0-9a-f]{12})"
):
    """👍 / 👎 on an answer, stored with the question, answer, cited articles and user."""

    def __init__(self, answer_id: str, vote: str) -> None:
        emoji = "👍" if vote == "up" else "👎"
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary, emoji=emoji, custom_id=f"cb:fb:{vote}:{answer_id}"
            )
        )
        self.answer_id = answer_id
        self.vote = vote

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> FeedbackButton:
        """Rebuild the button from its custom id."""
        return cls(match["aid"], match["vote"])

    async def callback(self, interaction: discord.Interaction[CitebotBot]) -> None:  # type: ignore[override]
        """Store the vote (one per user and answer; a new vote replaces the old)."""
        await guarded(interaction, self._store)

    async def _store(self, interaction: discord.Interaction[CitebotBot]) -> None:
        record = await _answer_record(interaction, self.answer_id)
        vote = FeedbackRecord(
            answer_id=self.answer_id,
            vote=self.vote,
            user_id=interaction.user.id,
            guild_id=record.guild_id,
            question=record.question,
            answer=record.answer,
            cited=record.cited,
        )
        await interaction.client.service.save_feedback(vote)
        log.info("feedback %s on answer %s", self.vote, self.answer_id)
        await reply(interaction, "Thanks for the feedback!", ephemeral=True)


class MoreSourcesButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cb:more:(?P<aid>[0-9a-f]{12})"
):
    """Show further passages for the same question (only to the person who clicks)."""

    def __init__(self, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary, label="More sources", custom_id=f"cb:more:{answer_id}"
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> MoreSourcesButton:
        """Rebuild the button from its custom id."""
        return cls(match["aid"])

    async def callback(self, interaction: discord.Interaction[CitebotBot]) -> None:  # type: ignore[override]
        """Search again with more passages and show those not shown yet."""
        await guarded(interaction, self._more)

    async def _more(self, interaction: discord.Interaction[CitebotBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        record = await _answer_record(interaction, self.answer_id)
        shown = record.shown
        # Only the further passages are shown, never the answer text: no need to wait for an LLM.
        answer = await interaction.client.service.ask(
            record.question,
            kb_for(guild_id_of(interaction)),
            k=shown + 5,
            context=record.context,
            use_llm=False,
        )
        if len(answer.citations) <= shown:
            await reply(interaction, "There are no further sources for this question.", ephemeral=True)
            return
        await reply(interaction, embed=answer_embed(answer, start_at=shown), ephemeral=True)
