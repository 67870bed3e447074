"""/add, /sources, /remove and /refresh: managing a server's articles from Discord."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import guarded
from bot.guilds import guild_id_of, is_editor, kb_for, require_editor
from bot.limits import with_max_length
from bot.render import articles_page, count, plain
from bot.replies import reply
from retrieval.errors import InvalidInput, PermissionDenied, TooLarge

if TYPE_CHECKING:
    from bot.client import CitebotBot
    from retrieval.models import AddResult

log = logging.getLogger(__name__)


def describe(result: AddResult, title_max: int) -> str:
    """Return the user-facing line for an add or refresh result."""
    a = result.article
    title = plain(a.title, title_max)
    if result.status == "already present":
        return f"Already present: **{title}** (`{a.id}`)."
    if result.status == "unchanged":
        return f"**{title}** (`{a.id}`) has not changed since it was added."
    verb = "Updated" if result.status == "updated" else "Added"
    return f"{verb} **{title}** (`{a.id}`): {count(a.chunks, 'passage')}."


class ExpiringView(discord.ui.View):
    """Buttons that are taken off their message when they stop working, so no click goes unanswered."""

    expired_text: str | None = None

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.origin: discord.Interaction[CitebotBot] | None = None

    async def on_timeout(self) -> None:
        """Remove the buttons from the message (its interaction token outlives the view)."""
        if self.origin is None or self.origin.is_expired():
            return
        changes: dict[str, Any] = {"view": None}
        if self.expired_text:
            changes["content"] = self.expired_text
        try:
            await self.origin.edit_original_response(**changes)
        except discord.HTTPException:
            log.info("could not remove expired buttons of interaction %s", self.origin.id)


class ConfirmView(ExpiringView):
    """Confirm or cancel a destructive action; only its author, still an editor, may confirm."""

    expired_text = "This confirmation expired; run the command again."

    def __init__(self, author_id: int, action: Any, timeout: float = 120.0) -> None:
        super().__init__(timeout=timeout)
        self.author_id = author_id
        self.action = action

    async def interaction_check(self, interaction: discord.Interaction[CitebotBot]) -> bool:  # type: ignore[override]
        """Let only the person who asked, and only while they are an editor, press the buttons."""
        if interaction.user.id != self.author_id:
            await reply(interaction, "This confirmation belongs to someone else.", ephemeral=True)
            return False
        try:
            await require_editor(interaction)
        except PermissionDenied as exc:
            await reply(interaction, str(exc), ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction[CitebotBot], button: discord.ui.Button[Any]
    ) -> None:
        """Carry out the action."""
        self.stop()
        await guarded(interaction, self.action)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction[CitebotBot], button: discord.ui.Button[Any]
    ) -> None:
        """Drop the action."""
        self.stop()
        await interaction.response.edit_message(content="Cancelled.", view=None)


class PageView(ExpiringView):
    """Previous/next buttons over the article list."""

    def __init__(self, articles: list[Any], author_id: int) -> None:
        super().__init__(timeout=600)
        self.articles = articles
        self.page = 0
        self.author_id = author_id
        self._update()

    def _update(self) -> None:
        pages = max(1, (len(self.articles) + 9) // 10)
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= pages - 1

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous(
        self, interaction: discord.Interaction[CitebotBot], button: discord.ui.Button[Any]
    ) -> None:
        """Show the previous page."""
        self.page -= 1
        self._update()
        await interaction.response.edit_message(embed=articles_page(self.articles, self.page), view=self)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next(
        self, interaction: discord.Interaction[CitebotBot], button: discord.ui.Button[Any]
    ) -> None:
        """Show the next page."""
        self.page += 1
        self._update()
        await interaction.response.edit_message(embed=articles_page(self.articles, self.page), view=self)


class PasteModal(discord.ui.Modal, title="Add an article"):
    """The /add form: a title and the article's text, line breaks kept (up to 4,000 characters)."""

    def __init__(self, cog: Articles, title: str | None) -> None:
        super().__init__(timeout=900)
        self.cog = cog
        most = min(cog.title_max, 4000)  # the title option's own limit; a text input holds 4,000 at most
        self.article_title: discord.ui.TextInput[PasteModal] = discord.ui.TextInput(
            style=discord.TextStyle.short,
            required=False,
            max_length=most,
            default=title[:most] if title else None,
        )
        self.body: discord.ui.TextInput[PasteModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph, min_length=20, max_length=4000
        )
        self.add_item(
            discord.ui.Label(
                text="Title",
                description="Optional; otherwise the first line is used",
                component=self.article_title,
            )
        )
        self.add_item(
            discord.ui.Label(
                text="Text",
                description="Paste the article (up to 4,000 characters; longer ones: attach a file)",
                component=self.body,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[CitebotBot]) -> None:  # type: ignore[override]
        """Add the pasted text as an article."""
        await guarded(
            interaction, lambda i: self.cog.add_pasted(i, self.body.value, self.article_title.value)
        )

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[CitebotBot], error: Exception
    ) -> None:
        """Errors are answered by guarded; log anything that escapes it."""
        log.error("the /add form failed", exc_info=error)


class Articles(commands.Cog):
    """Adding, listing, removing and refreshing articles."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self.title_max = bot.settings.limits.max_title_chars
        with_max_length(self.add, title=self.title_max)

    @app_commands.command(
        name="add", description="Add an article: give a url or a file, or neither to paste text in a form."
    )
    @app_commands.guild_only()
    @app_commands.describe(
        url="The article's web address (http:// or https://): a web page or a PDF",
        file="An attached .txt, .md, .html or .pdf file",
        title="A title to use instead of the article's own (optional; for a url or a file)",
    )
    async def add(
        self,
        interaction: discord.Interaction[CitebotBot],
        url: str | None = None,
        file: discord.Attachment | None = None,
        title: str | None = None,
    ) -> None:
        """Add one article to this server's knowledge base: a URL, a file, or text pasted in a form."""
        bot = self.bot
        guild_id = guild_id_of(interaction)
        if url and file:
            raise InvalidInput("Give a url or a file, not both (or neither, to paste text).")
        await require_editor(interaction)
        await bot.cooldown("add", guild_id, interaction.user.id)
        if not (url or file):  # a modal must be the first response: open it before anything else
            await interaction.response.send_modal(PasteModal(self, title))
            return
        if file is not None:
            limit = min(interaction.filesize_limit, bot.settings.limits.max_file_bytes)
            if file.size > limit:
                raise TooLarge(f"{file.filename} is {file.size:,} bytes; the limit is {limit:,}.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await bot.ensure_guild(guild_id)
        who = str(interaction.user.id)
        if url:
            result = await bot.service.add_url(url.strip(), kb, who, title)
        elif file is not None:
            data = await file.read()  # signed URLs expire: read at once, never store the URL
            result = await bot.service.add_file(data, file.filename, title, kb, who)
        await reply(interaction, describe(result, self.title_max), ephemeral=True)

    async def add_pasted(
        self, interaction: discord.Interaction[CitebotBot], text: str, title: str | None
    ) -> None:
        """Store text pasted in the /add form (its line breaks kept)."""
        await require_editor(interaction)  # roles may have changed while the form was open
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = self.bot
        kb = await bot.ensure_guild(guild_id_of(interaction))
        result = await bot.service.add_text(text, title or None, kb, str(interaction.user.id))
        await reply(interaction, describe(result, self.title_max), ephemeral=True)

    @app_commands.command(name="sources", description="List the articles this server's answers come from.")
    @app_commands.guild_only()
    async def sources(self, interaction: discord.Interaction[CitebotBot]) -> None:
        """Show this server's articles, ten a page."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        kb = await self.bot.ensure_guild(guild_id_of(interaction))
        articles = await self.bot.service.list_articles(kb)
        view = PageView(articles, interaction.user.id) if len(articles) > 10 else None
        await reply(interaction, embed=articles_page(articles, 0), view=view, ephemeral=True)
        if view is not None:
            view.origin = interaction

    async def _article_choices(
        self, interaction: discord.Interaction[CitebotBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        config = await self.bot.guild_config(interaction.guild_id)
        if not is_editor(interaction.user, config):
            return []
        articles = await self.bot.service.list_articles(kb_for(interaction.guild_id))
        needle = current.lower().strip()
        found = [a for a in articles if needle in a.title.lower() or needle in a.id]
        return [app_commands.Choice(name=f"{a.title[:80]} ({a.id})"[:100], value=a.id) for a in found[:25]]

    @app_commands.command(name="remove", description="Remove an article from this server (asks to confirm).")
    @app_commands.guild_only()
    @app_commands.describe(
        article="The article to remove: pick it from the list, or type part of its title or its id"
    )
    async def remove(self, interaction: discord.Interaction[CitebotBot], article: str) -> None:
        """Ask for confirmation, then remove the article."""
        await self._confirm(interaction, article, "remove")

    @app_commands.command(
        name="refresh", description="Fetch a URL article again and update it if it changed."
    )
    @app_commands.guild_only()
    @app_commands.describe(
        article="An article added from a URL: pick it from the list, or type part of its title or id"
    )
    async def refresh(self, interaction: discord.Interaction[CitebotBot], article: str) -> None:
        """Ask for confirmation, then refresh the article."""
        await self._confirm(interaction, article, "refresh")

    @remove.autocomplete("article")
    @refresh.autocomplete("article")
    async def _autocomplete(
        self, interaction: discord.Interaction[CitebotBot], current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            return await self._article_choices(interaction, current)
        except Exception:  # autocomplete errors only reach the log: answer with no choices
            log.exception("autocomplete failed")
            return []

    async def _confirm(
        self, interaction: discord.Interaction[CitebotBot], article_id: str, verb: str
    ) -> None:
        await require_editor(interaction)
        guild_id = guild_id_of(interaction)
        kb = kb_for(guild_id)
        info = await self.bot.service.get_article(article_id, kb)
        title = plain(info.title, self.title_max)

        async def act(click: discord.Interaction[CitebotBot]) -> None:
            await click.response.edit_message(content=f"Working on **{title}**…", view=None)
            if verb == "remove":
                await self.bot.service.remove(info.id, kb)
                text = f"Removed **{title}** (`{info.id}`)."
            else:
                text = describe(await self.bot.service.refresh(info.id, kb), self.title_max)
            await click.edit_original_response(content=text)

        view = ConfirmView(interaction.user.id, act)
        await reply(
            interaction,
            f"{verb.capitalize()} **{title}** (`{info.id}`)?",
            view=view,
            ephemeral=True,
        )
        view.origin = interaction


async def setup(bot: CitebotBot) -> None:
    """Register the article commands."""
    await bot.add_cog(Articles(bot))
