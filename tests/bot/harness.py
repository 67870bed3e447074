"""Run the real citebot bot against the fake Discord, with the session's real model."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from bot.app import build_bot
from bot.client import CitebotBot
from config.settings import Settings
from retrieval.compose import build_service
from retrieval.embedding import Embedder
from retrieval.service import CitebotService
from retrieval.store import ChromaStore
from tests.fakediscord import Channel, FakeDiscord, Guild, InteractionHandle, Member, Message, running_bot

MANAGE_GUILD = 1 << 5
KIM_QUESTION = "How fast is Kim's train?"
# Real-model asks take well under a second; these leave room for a slow CI machine.
ANSWER_TIMEOUT = 20.0


def bot_settings(settings: Settings, **discord: Any) -> Settings:
    """Return settings without cooldowns or debounce (unless given) and with any discord.* changes."""
    changes = {"ask_cooldown": 0.0, "add_cooldown": 0.0, "debounce": 0.0, **discord}
    return settings.model_copy(update={"discord": settings.discord.model_copy(update=changes)})


def with_fetch(settings: Settings, **fetch: Any) -> Settings:
    """Return settings with fetch.* changes (e.g. allow_private_hosts for a local web server)."""
    return settings.model_copy(update={"fetch": settings.fetch.model_copy(update=fetch)})


def make_bot(settings: Settings, embedder: Embedder, llm: Any = None, **options: Any) -> CitebotBot:
    """Build the real bot whose service reuses an already loaded embedder (and an LLM, if given)."""

    def factory() -> CitebotService:
        return build_service(settings, embedder=embedder, llm=llm)

    options.setdefault("guild_ready_timeout", 0.1)
    return build_bot(settings, service_factory=factory, **options)


@dataclass
class World:
    """A fake Discord with one server, the bot connected to it, an editor and a plain member."""

    fake: FakeDiscord
    bot: CitebotBot
    settings: Settings
    guild: Guild
    channel: Channel
    editor: Member
    member: Member

    async def command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: Member | None = None,
        guild: Guild | None = None,
        channel: Channel | None = None,
    ) -> InteractionHandle:
        """Run a slash command (as the editor, in #general of the main server, by default)."""
        guild = guild or self.guild
        if channel is None:
            channel = self.channel if guild is self.guild else first_channel(guild)
        return await self.fake.invoke_command(guild, channel, user or self.editor, name, options or {})

    async def run(
        self, name: str, options: Mapping[str, Any] | None = None, timeout: float = ANSWER_TIMEOUT, **kw: Any
    ) -> InteractionHandle:
        """Run a slash command and wait until its response is complete."""
        handle = await self.command(name, options, **kw)
        return await handle.wait_done(timeout)

    async def ask(self, question: str, **kw: Any) -> InteractionHandle:
        """Run /ask and wait for the answer."""
        return await self.run("ask", {"question": question}, **kw)

    async def mention(self, question: str, channel: Channel | None = None) -> Message:
        """Ask by @mention as the plain member and return the bot's answer (wherever it is posted)."""
        waiting = asyncio.ensure_future(
            self.fake.wait_for_message(check=lambda m: bool(m.embeds), timeout=ANSWER_TIMEOUT)
        )
        await asyncio.sleep(0)
        await self.fake.send_message(
            channel or self.channel, self.member, question, mentions=[self.fake.bot_user]
        )
        return await waiting

    async def add_text(self, text: str, title: str | None = None, **kw: Any) -> InteractionHandle:
        """Run /add alone, fill in its form (title, text) and wait for the reply (or the refusal)."""
        opened = await self.run("add", {}, **kw)
        if opened.modal is None:
            return opened
        ids = modal_inputs(opened.modal)
        values = {ids["Text"]: text} | ({ids["Title"]: title} if title else {})
        submitted = await self.fake.submit_modal(opened, values)
        return await submitted.wait_done(ANSWER_TIMEOUT)

    async def click(
        self, message: Message | None, custom_id: str, user: Member | None = None
    ) -> InteractionHandle:
        """Click a button on a message and wait for the bot's complete response."""
        assert message is not None, "no message to click on"
        handle = await self.fake.click_button(message, user or self.editor, custom_id)
        return await handle.wait_done(ANSWER_TIMEOUT)

    async def press(
        self, message: Message | None, label: str, user: Member | None = None
    ) -> InteractionHandle:
        """Click the button with a label (discord.py gives such buttons random custom ids)."""
        return await self.click(message, button_id(message, label), user)

    def add_server(self, name: str) -> tuple[Guild, Member]:
        """Create another server the bot is in, with a member who has Manage Server."""
        guild = self.fake.create_guild(name)
        return guild, self.fake.add_member(guild, f"{name} manager", permissions=MANAGE_GUILD)


# make_world(settings=None, *, fake_options=None, **bot_options) -> async context manager of a World.
WorldFactory = Callable[..., AbstractAsyncContextManager[World]]


def button_id(message: Message | None, label: str) -> str:
    """Return the custom id of the button with a label."""
    assert message is not None, "no message"
    for row in message.components:
        for comp in row.get("components", []):
            if comp.get("label") == label:
                return str(comp["custom_id"])
    raise AssertionError(f"no {label!r} button in {message.components!r}")


def modal_inputs(modal: Mapping[str, Any]) -> dict[str, str]:
    """Return the custom ids of a modal's text inputs by their label."""
    found = {}
    for row in modal.get("components", []):
        if row.get("type") == 18:
            found[row["label"]] = row["component"]["custom_id"]
    return found


def first_channel(guild: Guild) -> Channel:
    """Return a server's first text channel."""
    return next(iter(guild.channels.values()))


@contextlib.asynccontextmanager
async def running_world(
    settings: Settings,
    embedder: Embedder,
    *,
    fake_options: Mapping[str, Any] | None = None,
    **bot_options: Any,
) -> AsyncIterator[World]:
    """Start a fake Discord, connect the real bot, sync its commands and yield the world."""
    async with FakeDiscord(**dict(fake_options or {})) as fake:
        guild = fake.create_guild("Test Guild")
        editor = fake.add_member(guild, "erin", permissions=MANAGE_GUILD)
        member = fake.add_member(guild, "mo")
        bot = make_bot(settings, embedder, **bot_options)
        async with running_bot(fake, bot, timeout=30):
            await bot.tree.sync()
            yield World(fake, bot, settings, guild, first_channel(guild), editor, member)
        if settings.chroma.url:  # a shared Chroma server: leave nothing behind for the next test
            store = ChromaStore.from_settings(settings)
            for name in store.knowledge_bases():
                store.drop_knowledge_base(name)


def embed_of(message: Message | None) -> dict[str, Any]:
    """Return the single embed of a message."""
    assert message is not None, "no message"
    assert len(message.embeds) == 1, f"expected one embed, got {message.content!r} {message.embeds!r}"
    return message.embeds[0]


def text_of(message: Message | None) -> str:
    """Return everything a person reads in a message: content and all embed text."""
    assert message is not None, "no message"
    parts = [message.content]
    for e in message.embeds:
        parts += [e.get("title") or "", e.get("description") or ""]
        for f in e.get("fields") or []:
            parts += [f.get("name") or "", f.get("value") or ""]
        parts.append((e.get("footer") or {}).get("text") or "")
    return "\n".join(p for p in parts if p)
