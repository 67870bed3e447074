"""Answering for a server, and the buttons under every answer: feedback and more sources.

Shared by /ask and @mentions (extensions never import each other).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import discord

from bot.compact import answer_text, styled_embed
from bot.errors import guarded
from bot.feedback import ReasonModal
from bot.guilds import guild_id_of, kb_for
from bot.handoff import add_helper_button
from bot.render import NO_PINGS, answer_embed
from bot.replies import reply
from bot.solved import SolvedButton
from config.settings import MAX_K
from retrieval.answerability import withhold_unsure
from retrieval.errors import NotFound, PermissionDenied
from retrieval.models import Answer, Citation
from retrieval.records import AnswerRecord, FeedbackRecord

if TYPE_CHECKING:
    from bot.client import CitebotBot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerReply:
    """An answer ready to post: as an embed, or as plain text where citebot may not embed links."""

    answer: Answer
    view: discord.ui.View
    embed: discord.Embed | None = None
    content: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments of send/reply/followup.send for this answer."""
        out: dict[str, Any] = {"view": self.view, "allowed_mentions": NO_PINGS}
        if self.embed is not None:
            out["embed"] = self.embed
        if self.content is not None:
            out["content"] = self.content
        return out


async def answer_question(
    bot: CitebotBot,
    guild_id: int,
    user: discord.abc.User,
    question: str,
    context: str | None = None,
    *,
    show_draft: Callable[[discord.Embed], Coroutine[Any, Any, object]] | None = None,
    embeds: bool = True,
    channel_id: int | None = None,
    in_thread: bool = False,
) -> AnswerReply:
    """Answer a question for a server in its answer style, with its buttons.

    With an LLM configured and show_draft given, verified sentences are shown as they come.
    Without embeds (no Embed Links permission) the answer is plain text. In a thread (in_thread)
    it also gets the "Solved" button.
    """
    kb = await bot.ensure_guild(guild_id)
    style = (await bot.guild_config(guild_id)).answer_style
    on_draft = None
    if show_draft is not None and embeds and bot.service.has_llm:
        loop = asyncio.get_running_loop()

        def on_draft(draft: Answer) -> None:
            # Runs in the worker thread: wait for each edit, so drafts never overtake the answer.
            embed = styled_embed(draft, style, asked_by=user.display_name, writing=True)
            try:
                asyncio.run_coroutine_threadsafe(show_draft(embed), loop).result(timeout=10)
            except Exception:  # a lost draft edit must not lose the answer
                log.warning("could not show a draft answer", exc_info=True)

    answer = await bot.service.ask(question, kb, context=context, on_draft=on_draft)
    if (await bot.guild_config(guild_id)).only_sure:
        answer = withhold_unsure(answer)
    answer_id = secrets.token_hex(6)
    record = AnswerRecord.of(answer, guild_id, user.id, context, channel_id=channel_id)
    await bot.service.save_answer(answer_id, record)
    view = AnswerView(answer_id, answer, in_thread=in_thread)
    if answer.abstained:  # "Ask a helper" under an abstention, when the server has a helper role
        await add_helper_button(bot, guild_id, answer_id, view)
    if not embeds:
        return AnswerReply(answer, view, content=answer_text(answer, asked_by=user.display_name))
    return AnswerReply(answer, view, embed=styled_embed(answer, style, asked_by=user.display_name))


class AnswerView(discord.ui.View):
    """The buttons under an answer; they keep working after a restart (dynamic items)."""

    def __init__(self, answer_id: str, answer: Answer, *, in_thread: bool = False) -> None:
        super().__init__(timeout=None)
        if not answer.abstained:  # under an abstention there is nothing to rate and no source to show
            self.add_item(FeedbackButton(answer_id, "up"))
            self.add_item(FeedbackButton(answer_id, "down"))
            self.add_item(MoreSourcesButton(answer_id))
        if in_thread:  # the asker (or a helper) closes the question from here
            self.add_item(SolvedButton(answer_id))


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
        if self.vote == "down":  # the vote is kept; the form asks why (bot/feedback.py)
            await interaction.response.send_modal(ReasonModal(self.answer_id))
            return
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
        shown = tuple(_citation(c) for c in record.sources)
        # A plain search for the passages after these: never the LLM, which would cost a new answer.
        found = await interaction.client.service.ask(
            record.question,
            kb_for(guild_id_of(interaction)),
            k=min(MAX_K, len(shown) + 3),
            context=record.context,
            use_llm=False,
        )
        seen = {(c.article_id, c.start) for c in shown}
        extra = [c for c in found.citations if (c.article_id, c.start) not in seen]
        sources = shown + tuple(replace(c, n=len(shown) + i + 1) for i, c in enumerate(extra))
        if not sources:
            await reply(interaction, "There are no sources for this question.", ephemeral=True)
            return
        full = Answer(record.question, record.answer, False, sources[:10], {}, found.articles_searched)
        await reply(interaction, embed=answer_embed(full, passages_only=True), ephemeral=True)


def _citation(data: dict[str, Any]) -> Citation:
    """Rebuild a citation stored with an answer record."""
    fields = dict(data)
    fields["highlights"] = tuple(tuple(h) for h in fields.get("highlights") or ())
    return Citation(**fields)
