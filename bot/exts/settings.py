"""/citebot settings: editor role, answer channels and cooldowns (server managers only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import permissions, upkeep
from bot.guilds import GuildConfig, guild_id_of, is_manager
from bot.replies import reply
from config.settings import MAX_COOLDOWN
from retrieval.errors import InvalidInput, PermissionDenied

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from config.settings import DiscordSettings

MAX_REFRESH_DAYS = 365
NOT_MANAGER = "Only people with Manage Server can change citebot's settings."
NO_MESSAGE_CONTENT = (
    "I can't answer every message in {channel}: that needs the Message Content intent, which is off. "
    "Enable it in the Discord developer portal (your application → Bot → Message Content Intent) "
    "and restart citebot. Meanwhile people can @mention me or use `/ask`."
)


def summary(
    config: GuildConfig, defaults: DiscordSettings, reads_content: bool = True, keep_days: int | None = None
) -> str:
    """Describe a server's settings in a few lines."""
    role = f"<@&{config.editor_role_id}>" if config.editor_role_id else "none (Manage Server only)"
    channels = ", ".join(f"<#{c}>" for c in config.answer_channels) or "none"
    if config.answer_channels and not reads_content:
        channels += " (inactive: the Message Content intent is off)"
    ask, add = config.cooldown("ask", defaults), config.cooldown("add", defaults)
    return (
        f"**Editor role:** {role}\n**Channels where I answer every message:** {channels}\n"
        f"**Cooldowns:** /ask {ask:g} s, /add {add:g} s per person\n"
        f"**Answer style:** {config.answer_style}\n"
        f"**Answers:** {'only sure ones' if config.only_sure else 'all, unsure ones marked'}\n"
        + f"**Helper role** (pinged by *Ask a helper*): {helper_role_text(config)}\n"
        + quiet_summary(config, defaults)
        + upkeep_summary(config, keep_days)
    )


def upkeep_summary(config: GuildConfig, keep_days: int | None) -> str:
    """Describe the refresh interval, the log channel and how long records are kept."""
    days = config.refresh_days
    refresh = f"every {days} day{'s' if days != 1 else ''}" if days else "off"
    log = f"<#{config.log_channel_id}>" if config.log_channel_id else "none"
    text = f"\n**Refresh of URL articles:** {refresh}\n**Log channel:** {log}"
    if keep_days is not None:
        text += (
            f"\n**Records kept:** {keep_days} days (questions, answers and 👍/👎 with user ids; "
            "then deleted; `/forget-me` deletes yours)"
        )
    return text


def helper_role_text(config: GuildConfig) -> str:
    """Describe the helper role setting."""
    return f"<@&{config.helper_role_id}>" if config.helper_role_id else "none (no *Ask a helper* button)"


def helper_ping_problem(role: discord.Role, me: discord.Member) -> str | None:
    """Return why pinging a role would notify no one, or None if it works."""
    if role.mentionable or me.guild_permissions.mention_everyone:
        return None
    return (
        f"Note: {role.mention} is not mentionable and I lack **Mention Everyone**, so *Ask a helper* "
        "would post without notifying anyone. Make the role mentionable (Server Settings → Roles) "
        "or grant me Mention Everyone."
    )


def quiet_summary(config: GuildConfig, defaults: DiscordSettings) -> str:
    """Describe when citebot stays quiet in answer channels, forum posts and its threads."""
    wait = defaults.debounce if config.debounce is None else config.debounce
    rules = [
        "only questions and requests" if config.only_questions else "any message",
        "not greetings, thanks, short replies or replies to others" if config.skip_chatter else "",
        "not once a helper or moderator replied" if config.quiet_after_staff else "",
        f"at most {config.max_thread_answers} answers per thread" if config.max_thread_answers else "",
        f"waits {wait:g} s for the rest of a question",
    ]
    dry = (
        " **Dry run:** nothing is posted unprompted; what I would answer is logged." if config.dry_run else ""
    )
    return f"**Unprompted answers:** {'; '.join(r for r in rules if r)}.{dry}"


def answer_channel_problem(
    channel: discord.TextChannel | discord.ForumChannel, me: discord.Member, reads_content: bool
) -> str | None:
    """Return why citebot cannot answer every message in a channel (or post in a forum), or None if it can."""
    if not reads_content:
        return NO_MESSAGE_CONTENT.format(channel=channel.mention)
    forum = isinstance(channel, discord.ForumChannel)  # answered inside each post
    lacking = permissions.missing(
        channel.permissions_for(me), permissions.needed_to_post(in_thread=forum, reply=not forum)
    )
    if lacking:
        listed = ", ".join(f"**{n}**" for n in lacking)
        return f"I can't answer in {channel.mention}: I'm missing {listed} there. Grant it, then try again."
    return None


# Only managers see these commands (admins can change that under Server Settings → Integrations);
# Discord ignores default permissions and guild-only on sub-commands, so they are set on the group.
@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Settings(commands.GroupCog, group_name="citebot", group_description="citebot's server settings"):
    """Server settings, changed from Discord."""

    settings = app_commands.Group(
        name="settings", description="Show or change citebot's settings for this server"
    )

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self._keep_days = bot.settings.upkeep.retention_days
        super().__init__()

    async def _update(self, interaction: discord.Interaction[CitebotBot], **changes: object) -> None:
        guild_id = guild_id_of(interaction)
        if not is_manager(interaction.user):
            raise PermissionDenied(NOT_MANAGER)
        config = await self.bot.configs.update(guild_id, **changes)
        text = summary(config, self.bot.settings.discord, self.bot.reads_message_content, self._keep_days)
        await reply(interaction, "Saved.\n" + text, ephemeral=True)

    @settings.command(name="show", description="Show this server's citebot settings")
    async def show(self, interaction: discord.Interaction[CitebotBot]) -> None:
        """Show the settings."""
        config = await self.bot.guild_config(guild_id_of(interaction))
        text = summary(config, self.bot.settings.discord, self.bot.reads_message_content, self._keep_days)
        await reply(interaction, text, ephemeral=True)

    @settings.command(
        name="editor-role", description="Set the role that may add and remove articles (empty: none)"
    )
    @app_commands.describe(role="Members with this role can manage articles; leave empty to clear")
    async def editor_role(
        self, interaction: discord.Interaction[CitebotBot], role: discord.Role | None = None
    ) -> None:
        """Set or clear the editor role."""
        await self._update(interaction, editor_role_id=role.id if role else None)

    @settings.command(
        name="answer-channel",
        description="Answer questions in a channel or forum without a mention, or stop",
    )
    @app_commands.describe(
        channel="A text channel, or a forum (I answer each new post inside it), I can read and post in",
        enabled="True: answer every question posted there. False: stop (mentions still work).",
    )
    async def answer_channel(
        self,
        interaction: discord.Interaction[CitebotBot],
        channel: discord.TextChannel | discord.ForumChannel,
        enabled: bool,
    ) -> None:
        """Add or remove an answer channel (refusing one where citebot could not answer)."""
        if enabled and isinstance(interaction.guild, discord.Guild) and is_manager(interaction.user):
            problem = answer_channel_problem(channel, interaction.guild.me, self.bot.reads_message_content)
            if problem is not None:
                raise InvalidInput(problem)
        current = set((await self.bot.guild_config(guild_id_of(interaction))).answer_channels)
        current = current | {channel.id} if enabled else current - {channel.id}
        await self._update(interaction, answer_channels=tuple(sorted(current)))

    @settings.command(
        name="cooldown", description="Set the seconds each person waits between uses of /ask or /add"
    )
    @app_commands.describe(
        command="ask or add",
        seconds=f"Seconds each person waits between uses: 0 (no wait) to {MAX_COOLDOWN:g}",
    )
    async def cooldown(
        self,
        interaction: discord.Interaction[CitebotBot],
        command: Literal["ask", "add"],
        seconds: app_commands.Range[float, 0.0, MAX_COOLDOWN],
    ) -> None:
        """Set a per-user cooldown."""
        await self._update(interaction, **{f"{command}_cooldown": float(seconds)})

    @settings.command(
        name="answer-style", description="Compact answers (quote only what is cited) or full passages"
    )
    @app_commands.describe(
        style="compact: the cited sentence and one line per other source. full: every passage in full."
    )
    async def answer_style(
        self, interaction: discord.Interaction[CitebotBot], style: Literal["compact", "full"]
    ) -> None:
        """Choose how answers are shown in this server."""
        await self._update(interaction, answer_style=style)

    @settings.command(name="answers", description="Show every answer, or only those citebot is sure of")
    @app_commands.describe(
        show="all: unsure answers are shown, marked 'not sure'; sure: they say 'not found'"
    )
    async def answers(
        self, interaction: discord.Interaction[CitebotBot], show: Literal["all", "sure"]
    ) -> None:
        """Choose whether answers marked "not sure" are shown."""
        await self._update(interaction, only_sure=show == "sure")

    @app_commands.command(
        name="gaps", description="Questions the articles did not answer, similar ones grouped"
    )
    @app_commands.describe(days="How far back to look (default 30 days)")
    async def gaps(self, interaction: discord.Interaction[CitebotBot], days: Literal[7, 30, 90] = 30) -> None:
        """List the unanswered questions, most asked first, with a CSV export (editors)."""
        await upkeep.show_gaps(interaction, days)

    @app_commands.command(
        name="stats", description="A chart of the last 30 days: questions, answers, votes, sources"
    )
    async def stats(self, interaction: discord.Interaction[CitebotBot]) -> None:
        """Show the server's activity as a chart (editors)."""
        await upkeep.show_stats(interaction)

    @settings.command(
        name="helper-role", description="Set the role the Ask a helper button pings (empty: no button)"
    )
    @app_commands.describe(
        role="People with this role help when citebot can't; leave empty to remove the button"
    )
    async def helper_role(
        self, interaction: discord.Interaction[CitebotBot], role: discord.Role | None = None
    ) -> None:
        """Set or clear the helper role (the only role citebot ever pings)."""
        if role is not None and role.is_default():
            raise InvalidInput("Choose a role for your helpers, not @everyone.")
        await self._update(interaction, helper_role_id=role.id if role else None)
        guild = interaction.guild
        problem = helper_ping_problem(role, guild.me) if role and isinstance(guild, discord.Guild) else None
        if problem is not None:
            await reply(interaction, problem, ephemeral=True)

    @settings.command(
        name="quiet", description="When I stay quiet in answer channels, forum posts and my threads"
    )
    @app_commands.rename(
        questions_only="questions-only",
        skip_chatter="skip-chatter",
        after_staff="after-staff",
        max_answers="max-answers",
        dry_run="dry-run",
    )
    @app_commands.describe(
        questions_only="True: answer only what reads as a question or a request",
        skip_chatter="True: not greetings, thanks, short replies or replies to other people",
        after_staff="True: stop in a thread once a helper or moderator has replied there",
        wait="Seconds to wait for the asker's next messages before answering (0 to 30)",
        max_answers="Answers per thread or forum post at most (0: no limit)",
        dry_run="True: post nothing unprompted, only log what I would have answered",
    )
    async def quiet(
        self,
        interaction: discord.Interaction[CitebotBot],
        *,
        questions_only: bool | None = None,
        skip_chatter: bool | None = None,
        after_staff: bool | None = None,
        wait: app_commands.Range[float, 0.0, 30.0] | None = None,
        max_answers: app_commands.Range[int, 0, 100] | None = None,
        dry_run: bool | None = None,
    ) -> None:
        """Change the rules given (the others keep their value)."""
        changes = {
            "only_questions": questions_only,
            "skip_chatter": skip_chatter,
            "quiet_after_staff": after_staff,
            "debounce": None if wait is None else float(wait),
            "max_thread_answers": max_answers,
            "dry_run": dry_run,
        }
        await self._update(interaction, **{k: v for k, v in changes.items() if v is not None})

    @settings.command(
        name="refresh-interval", description="Re-fetch URL articles every so many days (0: never)"
    )
    @app_commands.describe(days="Days between re-fetches of each URL article: 1 to 365, or 0 to stop")
    async def refresh_interval(
        self, interaction: discord.Interaction[CitebotBot], days: app_commands.Range[int, 0, MAX_REFRESH_DAYS]
    ) -> None:
        """Turn the scheduled refresh of URL articles on (every so many days) or off."""
        await self._update(interaction, refresh_days=days or None)

    @settings.command(
        name="log-channel", description="Post upkeep summaries (refreshes) in a channel (empty: none)"
    )
    @app_commands.describe(channel="A text channel I can post in; leave empty to stop posting")
    async def log_channel(
        self, interaction: discord.Interaction[CitebotBot], channel: discord.TextChannel | None = None
    ) -> None:
        """Set or clear the channel where refresh summaries are posted."""
        if (
            channel is not None
            and isinstance(interaction.guild, discord.Guild)
            and is_manager(interaction.user)
        ):
            lacking = permissions.missing(
                channel.permissions_for(interaction.guild.me),
                permissions.needed_to_post(in_thread=False, reply=False),
            )
            if lacking:
                listed = ", ".join(f"**{n}**" for n in lacking)
                raise InvalidInput(f"I can't post in {channel.mention}: I'm missing {listed} there.")
        await self._update(interaction, log_channel_id=channel.id if channel else None)


async def setup(bot: CitebotBot) -> None:
    """Register the settings commands."""
    await bot.add_cog(Settings(bot))
