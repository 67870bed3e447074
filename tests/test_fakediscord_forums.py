"""The fake Discord's forums: posts, tags and thread state, with the platform's rules, seen by discord.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest
import pytest_asyncio
from discord.ext import commands

from tests.fakediscord import Channel, FakeDiscord, Guild, Member, running_bot
from tests.fakediscord.models import MANAGE_THREADS

pytestmark = pytest.mark.asyncio


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    forum: Channel
    alice: Member


@pytest_asyncio.fixture
async def world() -> AsyncIterator[World]:
    async with FakeDiscord() as fake:
        guild = fake.create_guild("Test Guild")
        forum = fake.create_forum(guild, "help", tags=["Solved", "Bug", "Question", "Setup", "Docs", "Other"])
        yield World(fake, guild, forum, fake.add_member(guild, "alice"))


def make_bot() -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = True
    return commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.1)


def manage_threads(world: World) -> None:
    """Let the bot manage threads (it edits people's posts only with Manage Threads)."""
    role = world.fake.bot_role(world.guild)
    world.fake.set_role_permissions(role, role.permissions | MANAGE_THREADS)


def kinds(fake: FakeDiscord) -> list[str]:
    return [v.kind for v in fake.violations]


async def post_thread(
    bot: commands.Bot, world: World, title: str = "Train speed"
) -> tuple[discord.Thread, int]:
    post, first = await world.fake.create_forum_post(world.forum, world.alice, title, "How fast is it?")
    thread = await world.fake.wait_until(lambda: bot.get_channel(post.id), 20, "THREAD_CREATE")
    assert isinstance(thread, discord.Thread)
    return thread, first.id


async def test_a_forum_and_its_tags_reach_discord_py(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        forum = bot.get_channel(world.forum.id)
        assert isinstance(forum, discord.ForumChannel)
        assert [t.name for t in forum.available_tags][:2] == ["Solved", "Bug"]


async def test_a_post_is_a_thread_whose_first_message_has_its_id(world: World) -> None:
    bot = make_bot()
    seen: list[discord.Message] = []

    async def remember(message: discord.Message) -> None:
        seen.append(message)

    bot.add_listener(remember, "on_message")
    async with running_bot(world.fake, bot):
        thread, first_id = await post_thread(bot, world)
        await world.fake.wait_until(lambda: seen, 20, "the first message")
        assert first_id == thread.id and seen[0].id == thread.id
        assert thread.parent_id == world.forum.id and thread.owner_id == world.alice.id
        assert seen[0].channel.id == thread.id and seen[0].content == "How fast is it?"


async def test_nobody_sends_messages_to_the_forum_itself(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        forum = bot.get_channel(world.forum.id)
        with pytest.raises(discord.HTTPException) as refused:
            await forum.create_thread(name="x")  # type: ignore[union-attr]  # a post without a message
        assert refused.value.status == 400
        with pytest.raises(ValueError, match="is a forum"):
            await world.fake.send_message(world.forum, world.alice, "hello")
    assert "invalid_form_body" in kinds(world.fake)


async def test_posts_carry_at_most_five_tags_of_their_own_forum(world: World) -> None:
    with pytest.raises(Exception, match="applied_tags"):
        await world.fake.create_forum_post(
            world.forum, world.alice, "t", "q", tags=["Solved", "Bug", "Question", "Setup", "Docs", "Other"]
        )
    other = world.fake.create_forum(world.guild, "other", tags=["Elsewhere"])
    bot = make_bot()
    async with running_bot(world.fake, bot):
        manage_threads(world)
        thread, _ = await post_thread(bot, world)
        forum = bot.get_channel(world.forum.id)
        assert isinstance(forum, discord.ForumChannel)
        five = forum.available_tags[:5]
        await thread.edit(applied_tags=five)
        assert world.fake.channels[thread.id].applied_tags == [t.id for t in five]
        with pytest.raises(discord.HTTPException):
            await thread.edit(applied_tags=forum.available_tags)  # six
        stranger = discord.Object(id=other.available_tags and int(other.available_tags[0]["id"]))
        with pytest.raises(discord.HTTPException):
            await thread.edit(applied_tags=[stranger])  # type: ignore[list-item]
    assert kinds(world.fake).count("invalid_form_body") == 2


async def test_a_forum_that_requires_a_tag_refuses_a_post_without_one(world: World) -> None:
    strict = world.fake.create_forum(world.guild, "strict", tags=["Bug"], require_tag=True)
    with pytest.raises(Exception, match="requires a tag"):
        await world.fake.create_forum_post(strict, world.alice, "t", "q")
    post, _ = await world.fake.create_forum_post(strict, world.alice, "t", "q", tags=["Bug"])
    assert post.applied_tags == [world.fake.tag_id(strict, "Bug")]


async def test_editing_someone_elses_post_needs_manage_threads(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        thread, _ = await post_thread(bot, world)
        with pytest.raises(discord.Forbidden):
            await thread.edit(archived=True)
        assert not world.fake.channels[thread.id].archived
        manage_threads(world)
        await world.fake.flush()
        await thread.edit(archived=True)
        assert world.fake.channels[thread.id].archived
    assert kinds(world.fake) == ["missing_permissions"]


async def test_an_archived_thread_refuses_the_bots_messages_until_a_person_reopens_it(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        manage_threads(world)
        thread, _ = await post_thread(bot, world)
        await thread.edit(archived=True)
        await world.fake.wait_until(lambda: thread.archived, 20, "THREAD_UPDATE")
        with pytest.raises(discord.HTTPException) as refused:
            await thread.send("still there?")
        assert refused.value.code == 50083
        with pytest.raises(discord.HTTPException):
            await thread.edit(name="renamed")  # archived: only unarchiving is allowed

        await world.fake.send_message(world.fake.channels[thread.id], world.alice, "one more thing")
        reopened = await world.fake.wait_until(lambda: bot.get_channel(thread.id), 20, "THREAD_UPDATE")
        assert isinstance(reopened, discord.Thread) and not reopened.archived  # back in discord.py's cache
        await reopened.send("yes?")
    assert kinds(world.fake) == ["archived_thread", "archived_thread"]


async def test_a_locked_thread_stays_closed_to_people(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        manage_threads(world)
        thread, _ = await post_thread(bot, world)
        await thread.edit(archived=True, locked=True)
        with pytest.raises(PermissionError, match="locked"):
            await world.fake.send_message(world.fake.channels[thread.id], world.alice, "reopen?")
    world.fake.assert_no_violations()
