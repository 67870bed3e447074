"""The fake Discord's permission rules, checked with a plain discord.py bot (no citebot, no model)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import FakeDiscord, InteractionHandle, running_bot
from tests.fakediscord.models import (
    EMBED_LINKS,
    MANAGE_GUILD,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
)
from tests.fakediscord.permissions import channel_permissions
from tests.test_fakediscord import World, kinds

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def server() -> AsyncIterator[World]:
    """A fake Discord with one server, its #general and alice (the World of test_fakediscord)."""
    async with FakeDiscord() as fake:
        guild = fake.create_guild("Test Guild")
        yield World(fake, guild, next(iter(guild.channels.values())), fake.add_member(guild, "alice"))


def make_bot() -> commands.Bot:
    return commands.Bot(command_prefix=(), intents=discord.Intents.default(), guild_ready_timeout=0.1)


async def open_form(world: World, bot: commands.Bot, form: type[discord.ui.Modal]) -> InteractionHandle:
    """Register /form (which opens the modal), sync it and run it as alice."""

    @bot.tree.command(name="form", description="Opens a form")
    async def command(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(form())

    await bot.tree.sync()
    return await world.fake.invoke_command(world.guild, world.channel, world.alice, "form")


async def test_overwrites_apply_everyone_then_roles_then_the_member(server: World) -> None:
    world = server
    fake, guild, channel = world.fake, world.guild, world.channel
    helpers = fake.create_role(guild, "helpers")
    bob = fake.add_member(guild, "bob", roles=[helpers])
    fake.set_overwrite(channel, guild, deny=SEND_MESSAGES)
    fake.set_overwrite(channel, helpers, allow=SEND_MESSAGES)
    fake.set_overwrite(channel, bob, deny=EMBED_LINKS)

    alice_perms = channel_permissions(fake, guild, world.alice.id, channel)
    bob_perms = channel_permissions(fake, guild, bob.id, channel)

    assert not alice_perms & SEND_MESSAGES and alice_perms & EMBED_LINKS
    assert bob_perms & SEND_MESSAGES and not bob_perms & EMBED_LINKS
    fake.set_overwrite(channel, guild, deny=VIEW_CHANNEL)
    assert channel_permissions(fake, guild, world.alice.id, channel) == 0, "no View Channel, nothing"


async def test_sending_without_a_permission_is_refused_with_403(server: World) -> None:
    world = server
    fake = world.fake
    fake.set_overwrite(world.channel, fake.bot_role(world.guild), deny=EMBED_LINKS)
    bot = make_bot()
    async with running_bot(fake, bot):
        channel = bot.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        assert not channel.permissions_for(channel.guild.me).embed_links, "discord.py sees the overwrite"
        await channel.send("plain text is fine")
        with pytest.raises(discord.Forbidden) as refused:
            await channel.send(embed=discord.Embed(title="an embed"))

    assert refused.value.code == 50013
    assert kinds(fake) == ["missing_permissions"]
    assert [m.content for m in fake.bot_messages(world.channel)] == ["plain text is fine"]


async def test_threads_need_send_messages_in_threads(server: World) -> None:
    world = server
    fake = world.fake
    fake.set_overwrite(world.channel, fake.bot_role(world.guild), deny=SEND_MESSAGES_IN_THREADS)
    bot = make_bot()
    async with running_bot(fake, bot):
        channel = bot.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        thread = await channel.create_thread(name="a thread", type=discord.ChannelType.public_thread)
        with pytest.raises(discord.Forbidden):
            await thread.send("hello")
        await channel.send("the channel itself is fine")

    assert kinds(fake) == ["missing_permissions"]


async def test_default_member_permissions_hide_a_command_unless_an_admin_allows_it(server: World) -> None:
    world = server
    fake = world.fake
    bot = make_bot()

    @bot.tree.command(name="admin", description="For managers")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)

    manager = fake.add_member(world.guild, "manager", permissions=MANAGE_GUILD)
    async with running_bot(fake, bot):
        await bot.tree.sync()
        with pytest.raises(PermissionError, match="hidden"):
            await fake.invoke_command(world.guild, world.channel, world.alice, "admin")
        handle = await fake.invoke_command(world.guild, world.channel, manager, "admin")
        await handle.wait_done()
        fake.permit_command(world.guild, "admin", world.alice)
        allowed = await fake.invoke_command(world.guild, world.channel, world.alice, "admin")
        await allowed.wait_done()

    assert handle.ephemeral and allowed.ephemeral
    fake.assert_no_violations()


async def test_contexts_decide_where_a_command_exists(server: World) -> None:
    world = server
    fake = world.fake
    bot = make_bot()

    @bot.tree.command(name="here", description="Servers only")
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    async def here(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    async with running_bot(fake, bot):
        await bot.tree.sync()
        dm = fake.create_dm(world.alice.user)
        with pytest.raises(PermissionError, match="not available in a DM"):
            await fake.invoke_command(None, dm, world.alice.user, "here")
        handle = await fake.invoke_command(world.guild, world.channel, world.alice, "here")
        await handle.wait_done()
    assert fake.commands.list(None)[0]["contexts"] == [0]


async def test_command_sync_rejects_unknown_contexts(server: World) -> None:
    world = server
    bot = make_bot()
    async with running_bot(world.fake, bot):
        with pytest.raises(discord.HTTPException):
            await bot.http.bulk_upsert_global_commands(
                world.fake.app_id, payload=[{"name": "x", "description": "x", "contexts": [7]}]
            )
    assert kinds(world.fake) == ["invalid_form_body"]


async def test_a_modal_text_input_label_over_45_characters_is_refused(server: World) -> None:
    world = server
    fake = world.fake
    bot = make_bot()

    class Form(discord.ui.Modal, title="A form"):
        text: discord.ui.TextInput[Form] = discord.ui.TextInput(label="x" * 46)

    async with running_bot(fake, bot):
        handle = await open_form(world, bot, Form)
        await handle.wait_response()

    assert not handle.responded and "invalid_form_body" in kinds(fake)


async def test_a_submitted_form_respects_its_length_limits(server: World) -> None:
    world = server
    fake = world.fake
    bot = make_bot()

    class Form(discord.ui.Modal, title="A form"):
        text: discord.ui.TextInput[Form] = discord.ui.TextInput(label="Text", min_length=5, custom_id="t")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(self.text.value, ephemeral=True)

    async with running_bot(fake, bot):
        handle = await open_form(world, bot, Form)
        await handle.wait_done()
        with pytest.raises(ValueError, match="out of range"):
            await fake.submit_modal(handle, {"t": "abc"})
        submitted = await fake.submit_modal(handle, {"t": "abcdef"})
        await submitted.wait_done()

    assert submitted.original is not None and submitted.original.content == "abcdef"
    fake.assert_no_violations()
