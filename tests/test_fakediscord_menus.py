"""The fake Discord's rules for message context menus, role pings, message history and jump links."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
from discord.ext import commands

from tests.fakediscord import FakeDiscord, running_bot
from tests.fakediscord.models import DEFAULT_EVERYONE_PERMISSIONS, READ_MESSAGE_HISTORY
from tests.test_fakediscord import World


@contextlib.asynccontextmanager
async def _world(**options: object) -> AsyncIterator[World]:
    async with FakeDiscord(**options) as fake:  # type: ignore[arg-type]
        guild = fake.create_guild("Test Guild")
        channel = next(iter(guild.channels.values()))
        yield World(fake, guild, channel, fake.add_member(guild, "alice"))


@pytest_asyncio.fixture
async def world() -> AsyncIterator[World]:
    async with _world() as w:
        yield w


def make_bot(*, content: bool = True) -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = content
    return commands.Bot(command_prefix=(), intents=intents, guild_ready_timeout=0.1)


async def test_a_message_command_gets_the_whole_target_even_without_the_content_intent() -> None:
    async with _world(privileged_intents=()) as world:
        bot = make_bot(content=False)
        seen: list[tuple[int, str, str]] = []

        @bot.tree.context_menu(name="Quote this")
        async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
            seen.append((message.id, message.content, message.jump_url))
            await interaction.response.send_message("quoted", ephemeral=True)

        async with running_bot(world.fake, bot):
            await bot.tree.sync()
            target = await world.fake.send_message(world.channel, world.alice, "the lamp burns colza oil")
            handle = await world.fake.invoke_message_command(world.guild, world.alice, "Quote this", target)
            await handle.wait_done()

            [(message_id, content, link)] = seen
            assert message_id == target.id and content == "the lamp burns colza oil"
            assert handle.payload["data"]["type"] == 3
            assert handle.payload["data"]["target_id"] == str(target.id)
            assert world.fake.resolve_jump_link(link) is target
        world.fake.assert_no_violations()


async def test_message_commands_exist_only_once_registered_and_only_on_visible_messages(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        target = await world.fake.send_message(world.channel, world.alice, "hello there")
        with pytest.raises(LookupError, match="no message command"):
            await world.fake.invoke_message_command(world.guild, world.alice, "Quote this", target)
        world.fake.delete_message(target)
        with pytest.raises(LookupError, match="not shown"):
            await world.fake.invoke_message_command(world.guild, world.alice, "Quote this", target)


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ({"name": "q" * 33, "type": 3}, "a 33-character name"),
        ({"name": "Quote this", "type": 3, "description": "quotes a message"}, "a description"),
        ({"name": "Quote this", "type": 3, "options": [{"name": "x", "type": 3}]}, "options"),
        ({"name": "Quote this", "type": 4}, "an unknown command type"),
    ],
)
async def test_a_bad_context_menu_is_rejected_at_sync(
    world: World, definition: dict[str, object], problem: str
) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        assert bot.application_id is not None
        with pytest.raises(discord.HTTPException) as caught:
            await bot.http.bulk_upsert_global_commands(bot.application_id, [definition])
        assert caught.value.code == 50035, problem
        assert world.fake.commands.list(None) == []


async def test_at_most_five_message_commands(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        assert bot.application_id is not None
        menus = [{"name": f"Menu {i}", "type": 3} for i in range(6)]
        with pytest.raises(discord.HTTPException):
            await bot.http.bulk_upsert_global_commands(bot.application_id, menus)
        await bot.http.bulk_upsert_global_commands(bot.application_id, menus[:5])
        assert len(world.fake.commands.list(None)) == 5


async def test_a_role_ping_needs_allowed_mentions_and_a_mentionable_role_or_mention_everyone(
    world: World,
) -> None:
    fake = world.fake
    open_role = fake.create_role(world.guild, "helpers", mentionable=True)
    closed_role = fake.create_role(world.guild, "staff")
    bot = make_bot()
    async with running_bot(fake, bot):
        channel = bot.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        text = f"{open_role.mention} {closed_role.mention} @everyone"
        only_helpers = discord.AllowedMentions(
            everyone=False, users=False, roles=[discord.Object(open_role.id)]
        )
        quiet = await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        helpers = await channel.send(text, allowed_mentions=only_helpers)
        everything = await channel.send(text)
        assert not fake.messages[quiet.id].pinging
        assert fake.messages[helpers.id].pings.roles == {open_role.id}
        assert not fake.messages[helpers.id].pings.everyone
        # The bot has Mention Everyone (by default): every role and @everyone.
        assert fake.messages[everything.id].pings.roles == {open_role.id, closed_role.id}
        assert fake.messages[everything.id].pings.everyone

        fake.set_role_permissions(fake.bot_role(world.guild), DEFAULT_EVERYONE_PERMISSIONS)
        await fake.flush()
        without = await channel.send(text)
        assert fake.messages[without.id].pings.roles == {open_role.id}, "only the mentionable role"
        assert not fake.messages[without.id].pings.everyone
    fake.assert_no_violations()


async def test_a_member_without_mention_everyone_pings_only_mentionable_roles(world: World) -> None:
    fake = world.fake
    open_role = fake.create_role(world.guild, "helpers", mentionable=True)
    closed_role = fake.create_role(world.guild, "staff")
    sent = fake.store_message(
        world.channel, world.alice.user, {"content": f"{open_role.mention} {closed_role.mention}"}
    )
    assert sent.pings.roles == {open_role.id}


async def test_history_needs_read_message_history_and_hides_content_without_the_intent() -> None:
    async with _world(privileged_intents=()) as world:
        fake = world.fake
        bot = make_bot(content=False)
        async with running_bot(fake, bot):
            await fake.send_message(world.channel, world.alice, "an earlier question")
            channel = bot.get_channel(world.channel.id)
            assert isinstance(channel, discord.TextChannel)
            [earlier] = [m async for m in channel.history(limit=5)]
            assert earlier.content == "", "no message content intent: fetched messages come blank"

            fake.set_overwrite(world.channel, fake.bot_role(world.guild), deny=READ_MESSAGE_HISTORY)
            await fake.flush()
            with pytest.raises(discord.Forbidden):
                [m async for m in channel.history(limit=5)]
        assert [v.kind for v in fake.violations] == ["missing_permissions"]


async def test_a_jump_link_leads_to_its_message_until_it_is_deleted(world: World) -> None:
    fake = world.fake
    message = fake.store_message(world.channel, world.alice.user, {"content": "hello"})
    link = fake.jump_url(message)

    assert link == f"https://discord.com/channels/{world.guild.id}/{world.channel.id}/{message.id}"
    assert fake.resolve_jump_link(link) is message
    assert fake.resolve_jump_link(link.replace(str(world.guild.id), "1")) is None, "another server's link"
    fake.delete_message(message)
    assert fake.resolve_jump_link(link) is None
