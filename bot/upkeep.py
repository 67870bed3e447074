"""What editors see of their server's knowledge: `/citebot gaps` (paged, CSV) and `/citebot stats` (a chart).

Both reply privately: the questions people asked are for the server's editors only.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import guarded
from bot.guilds import guild_id_of, require_editor
from bot.render import DESCRIPTION_MAX, NO_PINGS, clip, count, plain
from retrieval.errors import TooLarge
from retrieval.gaps import REASONS, Gap, to_csv
from retrieval.records import epoch

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from retrieval.stats import Stats

log = logging.getLogger(__name__)

PER_PAGE = 8
ENTRY_MAX = 480  # 8 entries, title and footer stay well inside one embed's 6000 characters
CHART_NAME = "citebot-stats.png"


def gap_entry(n: int, gap: Gap) -> str:
    """Return one group's lines: how often, when last, why, then its example question."""
    others = len(gap.questions) - 1
    more = f" (+{count(others, 'other wording')})" if others else ""
    lines = [
        f"**{n}.** **{gap.count}×** · last asked <t:{epoch(gap.last_asked)}:R> · {gap.why_text()}",
        f"> {plain(gap.example, 300)}{more}",
    ]
    if gap.notes:
        lines.append(f"-# said: {plain(gap.notes[0], 150)}")
    return clip("\n".join(lines), ENTRY_MAX)


def gaps_page(gaps: Sequence[Gap], page: int, days: int) -> discord.Embed:
    """Build one page of a server's gaps."""
    pages = max(1, -(-len(gaps) // PER_PAGE))
    page = min(max(page, 0), pages - 1)
    embed = discord.Embed(
        title=f"Questions the articles did not answer · last {days} days", colour=discord.Colour.orange()
    )
    start = page * PER_PAGE
    entries = [gap_entry(start + i + 1, g) for i, g in enumerate(gaps[start : start + PER_PAGE])]
    embed.description = clip(
        "\n\n".join(entries) or f"Nothing went unanswered in the last {days} days.", DESCRIPTION_MAX
    )
    asks = sum(g.count for g in gaps)
    embed.set_footer(
        text=f"Page {page + 1} of {pages} · {count(asks, 'question')} in {count(len(gaps), 'group')} · "
        "not found, not sure, 👎 or a helper called"
    )
    return embed


class GapsView(discord.ui.View):
    """Previous / next over the gaps, and their CSV export, for ten minutes (the message is private)."""

    def __init__(self, gaps: Sequence[Gap], days: int, origin: discord.Interaction[CitebotBot]) -> None:
        super().__init__(timeout=600)
        self.gaps, self.days, self.origin, self.page = list(gaps), days, origin, 0
        self._update()

    def _update(self) -> None:
        pages = max(1, -(-len(self.gaps) // PER_PAGE))
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= pages - 1
        self.export.disabled = not self.gaps

    async def _turn(self, interaction: discord.Interaction[CitebotBot], step: int) -> None:
        self.page += step
        self._update()
        await interaction.response.edit_message(embed=gaps_page(self.gaps, self.page, self.days), view=self)

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction[CitebotBot], _: discord.ui.Button[Any]) -> None:
        """Show the previous page."""
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction[CitebotBot], _: discord.ui.Button[Any]) -> None:
        """Show the next page."""
        await self._turn(interaction, 1)

    @discord.ui.button(label="Export CSV", style=discord.ButtonStyle.primary)
    async def export(self, interaction: discord.Interaction[CitebotBot], _: discord.ui.Button[Any]) -> None:
        """Send every group as a CSV file (privately)."""
        await guarded(interaction, self._export)

    async def _export(self, interaction: discord.Interaction[CitebotBot]) -> None:
        data = to_csv(self.gaps).encode("utf-8-sig")  # with a BOM, so spreadsheet programs read UTF-8
        if len(data) > interaction.filesize_limit:
            raise TooLarge("The export is larger than Discord lets me attach; use `citebot gaps --json`.")
        name = f"citebot-gaps-{self.days}d.csv"
        await interaction.response.send_message(
            f"{count(len(self.gaps), 'group')} of unanswered questions, last {self.days} days.",
            file=discord.File(io.BytesIO(data), filename=name),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    async def on_timeout(self) -> None:
        """Take the buttons off the message once they stop working."""
        if self.origin.is_expired():
            return
        try:
            await self.origin.edit_original_response(view=None)
        except discord.HTTPException:
            log.info("could not remove the gaps buttons of interaction %s", self.origin.id)


async def show_gaps(interaction: discord.Interaction[CitebotBot], days: int) -> None:
    """Answer `/citebot gaps`: the first page, with its buttons."""
    await require_editor(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    gaps = await interaction.client.service.gaps(guild_id_of(interaction), days)
    view = GapsView(gaps, days, interaction)
    await interaction.followup.send(embed=gaps_page(gaps, 0, days), view=view, ephemeral=True)


def stats_embed(stats: Stats) -> discord.Embed:
    """Describe the stats in a few lines above the chart."""
    t = stats.totals()
    asked = t["questions"]

    def share(key: str) -> str:
        return f"{t[key] / asked:.0%}" if asked else "0%"

    lines = [
        f"**{count(asked, 'question')}** · answered {share('answered')} · not sure {share('unsure')} · "
        f"not found {share('abstained')}",
        f"👍 {t['up']} · 👎 {t['down']}" + reasons_text(stats),
    ]
    if stats.cited:
        title, n = stats.cited[0]
        lines.append(f"Most cited: **{plain(title, 120)}** ({count(n, 'answer')})")
    embed = discord.Embed(
        title=f"citebot · last {len(stats.days)} days",
        description="\n".join(lines),
        colour=discord.Colour.blurple(),
    )
    embed.set_image(url=f"attachment://{CHART_NAME}")
    embed.set_footer(text="Days are UTC. /citebot gaps lists the questions that went unanswered.")
    return embed


def reasons_text(stats: Stats) -> str:
    """Return " (why: 2 outdated, 1 wrong answer)" for the 👎 reasons given, or nothing."""
    if not stats.reasons:
        return ""
    return " (why: " + ", ".join(f"{n} {REASONS.get(k, k)}" for k, n in stats.reasons) + ")"


async def show_stats(interaction: discord.Interaction[CitebotBot], days: int = 30) -> None:
    """Answer `/citebot stats`: a few lines and the chart, privately."""
    await require_editor(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    service = interaction.client.service
    stats = await service.stats(guild_id_of(interaction), days)
    name = interaction.guild.name if interaction.guild else "citebot"
    png = await service.stats_png(stats, name)
    await interaction.followup.send(
        embed=stats_embed(stats), file=discord.File(io.BytesIO(png), filename=CHART_NAME), ephemeral=True
    )
