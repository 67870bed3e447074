"""Why a 👎: a short form after the vote (wrong, outdated, not covered, other), stored with the vote.

The 👎 itself is stored when it is clicked, before the form opens: closing the form keeps the
vote, without a reason. Reasons are shown to editors only (`/citebot gaps`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import discord

from bot.errors import guarded
from bot.handoff import helper_view, may_call
from bot.replies import reply
from retrieval.errors import NotFound, PermissionDenied
from retrieval.gaps import REASONS
from retrieval.records import FeedbackRecord

if TYPE_CHECKING:
    from bot.client import CitebotBot

log = logging.getLogger(__name__)

DETAILS_MAX = 300
CHOICES = (
    ("wrong", "Wrong answer", "The answer says something false"),
    ("outdated", "Outdated", "It was right once; things have changed"),
    ("not_covered", "The articles don't cover it", "The answer is not in this server's articles"),
    ("other", "Other", "Say what in the box below"),
)


class ReasonModal(discord.ui.Modal, title="What was wrong with this answer?"):
    """The form after a 👎: one reason from four, and optional words."""

    def __init__(self, answer_id: str) -> None:
        super().__init__(timeout=600, custom_id=f"cb:why:{answer_id}")
        self.answer_id = answer_id
        self.reason: discord.ui.Select[ReasonModal] = discord.ui.Select(
            custom_id="reason",
            placeholder="Choose one",
            options=[discord.SelectOption(label=lab, value=v, description=d) for v, lab, d in CHOICES],
        )
        self.details: discord.ui.TextInput[ReasonModal] = discord.ui.TextInput(
            custom_id="details",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=DETAILS_MAX,
            placeholder="What is wrong, or what the right answer is",
        )
        self.add_item(discord.ui.Label(text="Reason", component=self.reason))
        self.add_item(
            discord.ui.Label(
                text="Anything to add?",
                description="Optional. Only this server's editors see it.",
                component=self.details,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[CitebotBot]) -> None:  # type: ignore[override]
        """Store the reason with the vote, then thank the person."""
        await guarded(interaction, self._store)

    async def _store(self, interaction: discord.Interaction[CitebotBot]) -> None:
        service = interaction.client.service
        vote = await service.feedback(self.answer_id, interaction.user.id)
        if vote is None or vote.vote != "down":
            raise NotFound("I no longer have your 👎 on that answer; please press 👎 again.")
        if vote.guild_id != interaction.guild_id:
            raise PermissionDenied("That answer belongs to another server.")
        reason = self.reason.values[0] if self.reason.values else "other"
        details = " ".join(self.details.value.split())[:DETAILS_MAX] or None
        vote = replace(vote, reason=reason if reason in REASONS else "other", reason_text=details)
        await service.save_feedback(vote)
        log.info("feedback reason %s on answer %s", vote.reason, self.answer_id)
        await thank_for_reason(interaction, vote)

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[CitebotBot], error: Exception
    ) -> None:
        """Errors are answered by guarded; log anything that escapes it."""
        log.error("the 👎 reason form failed", exc_info=error)


def reason_thanks(vote: FeedbackRecord) -> str:
    """Return the thanks for a 👎 reason, naming the reason."""
    label = REASONS.get(vote.reason or "other", "other")
    return f"Thanks, noted: **{label}**. The server's editors see it when they look for missing articles."


async def thank_for_reason(interaction: discord.Interaction[CitebotBot], vote: FeedbackRecord) -> None:
    """Thank the person privately for the reason they gave, offering "Ask a helper" when the server has one."""
    bot = interaction.client
    record = await bot.service.answer(vote.answer_id)
    view = None
    # Offered only to whoever may press it: anyone else would be refused (bot/handoff.py).
    config = await bot.guild_config(vote.guild_id)
    if record is not None and record.handed_off_at is None and may_call(interaction.user, record, config):
        view = await helper_view(bot, vote.guild_id, vote.answer_id)
    await reply(interaction, reason_thanks(vote), view=view, ephemeral=True)
