"""End-to-end checks of the fake Discord with a real discord.py bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import Channel, FakeDiscord, Guild, Member, running_bot


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    channel: Channel
    alice: Member


@pytest_asyncio.fixture
async def world() -> AsyncIterator[World]:
    async with FakeDiscord() as fake:
        guild = fake.create_guild("Test Guild")
        channel = next(iter(guild.channels.values()))
        yield World(fake, guild, channel, fake.add_member(guild, "alice"))


def make_bot(intents: discord.Intents | None = None) -> commands.Bot:
    return commands.Bot(
        command_prefix="!", intents=intents or discord.Intents.default(), guild_ready_timeout=0.1
    )


def kinds(fake: FakeDiscord) -> list[str]:
    return [v.kind for v in fake.violations]


@pytest.mark.asyncio
async def test_bot_logs_in_and_receives_ready_and_guild(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        guild = bot.get_guild(world.guild.id)
        assert bot.user is not None and bot.user.id == world.fake.bot_user.id
        assert bot.application_id == world.fake.app_id
        assert guild is not None and guild.name == "Test Guild" and guild.me is not None
        assert [c.name for c in guild.text_channels] == ["general"]
        assert world.fake.sessions[0].compress in {"zstd-stream", "zlib-stream"}
    world.fake.assert_no_violations()


@pytest.mark.asyncio
async def test_wrong_token_raises_login_failure(world: World) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running_bot(world.fake, make_bot(), token="not-the-token"):
            pass
    assert world.fake.requests_to("get_me")[-1].status == 401


@pytest.mark.asyncio
async def test_disallowed_intent_raises_privileged_intents_required() -> None:
    async with FakeDiscord(privileged_intents=()) as fake:
        fake.create_guild()
        intents = discord.Intents.default()
        intents.message_content = True
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_bot(fake, make_bot(intents)):
                pass
        assert kinds(fake) == ["disallowed_intents"]
        assert fake.gateway_closes[-1][0] == 4014


@pytest.mark.asyncio
async def test_guild_joined_at_runtime_is_announced(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        new = world.fake.create_guild("Later", joined=False)
        joined = asyncio.create_task(bot.wait_for("guild_join", timeout=2))
        await world.fake.join_guild(new)
        assert (await joined).id == new.id


@pytest.mark.asyncio
async def test_defer_then_followup_fills_the_thinking_message(world: World) -> None:
    bot = make_bot()

    @bot.tree.command(description="Ask a question")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"answer: {question}")
        await interaction.followup.send("sources: none")

    async with running_bot(world.fake, bot):
        await bot.tree.sync()
        handle = await world.fake.invoke_command(
            world.guild, world.channel, world.alice, "ask", {"question": "why?"}
        )
        await handle.wait_followups(1)
        assert handle.deferred and not handle.ephemeral and not handle.thinking
        assert handle.original is not None and handle.original.content == "answer: why?"
        assert [m.content for m in handle.followups] == ["sources: none"]
    world.fake.assert_no_violations()


@pytest.mark.asyncio
async def test_ephemeral_is_decided_at_defer(world: World) -> None:
    bot = make_bot()

    @bot.tree.command(description="Leak test")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.followup.send("private?", ephemeral=True)

    async with running_bot(world.fake, bot):
        await bot.tree.sync()
        handle = await world.fake.invoke_command(world.guild, world.channel, world.alice, "secret")
        await handle.wait_done()
        assert not handle.ephemeral
        assert kinds(world.fake) == ["ephemeral_ignored"]


@pytest.mark.asyncio
async def test_response_after_deadline_is_a_violation(world: World) -> None:
    world.fake.response_deadline = 0.2
    bot = make_bot()
    deadline_missed = asyncio.Event()
    finished = asyncio.Event()
    errors: list[Exception] = []

    @bot.tree.command(description="Too slow")
    async def slow(interaction: discord.Interaction) -> None:
        try:
            await deadline_missed.wait()
            try:
                await interaction.response.send_message("late")
            except discord.NotFound as exc:
                errors.append(exc)
        finally:
            finished.set()

    async with running_bot(world.fake, bot):
        await bot.tree.sync()
        handle = await world.fake.invoke_command(world.guild, world.channel, world.alice, "slow")
        await world.fake.wait_until(lambda: "no_response" in kinds(world.fake), what="the deadline")
        deadline_missed.set()
        # wait_response() returns as soon as the fake has seen the callback, before the bot has
        # read the 404; wait for the command itself before looking at what it caught.
        await handle.wait_response()
        await asyncio.wait_for(finished.wait(), 5)
        assert not handle.responded and len(handle.callbacks) == 1
        assert {"late_response", "no_response"} <= set(kinds(world.fake))
        assert len(errors) == 1 and errors[0].code == 10062


@pytest.mark.asyncio
async def test_message_over_2000_characters_is_rejected(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        channel = bot.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("x" * 2000)
        with pytest.raises(discord.HTTPException) as caught:
            await channel.send("x" * 2001)
        assert caught.value.status == 400 and caught.value.code == 50035
        assert kinds(world.fake) == ["invalid_form_body"]
        assert [len(m.content) for m in world.fake.messages_in(world.channel)] == [2000]


@pytest.mark.asyncio
async def test_rate_limited_followup_is_retried(world: World) -> None:
    bot = make_bot()

    @bot.tree.command(description="Answer later")
    async def ask(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.followup.send("done")

    async with running_bot(world.fake, bot):
        await bot.tree.sync()
        world.fake.rate_limit("execute_webhook", times=1, retry_after=0.05)
        handle = await world.fake.invoke_command(world.guild, world.channel, world.alice, "ask")
        await handle.wait_done()
        assert handle.original is not None and handle.original.content == "done"
        assert [r.status for r in world.fake.requests_to("execute_webhook")] == [429, 200]
        assert len(world.fake.rate_limit_hits) == 1
    world.fake.assert_no_violations()


@pytest.mark.asyncio
async def test_everyone_pings_unless_mentions_are_suppressed(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        channel = bot.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        loud = await channel.send("@everyone read this")
        quiet = await channel.send("@everyone read this", allowed_mentions=discord.AllowedMentions.none())
        user_ping = await channel.send(
            f"<@{world.alice.id}> hi", allowed_mentions=discord.AllowedMentions(everyone=False)
        )
        assert world.fake.messages[loud.id].pings.everyone
        assert not world.fake.messages[quiet.id].pinging
        assert world.fake.messages[quiet.id].allowed_mentions == {"parse": []}
        assert world.fake.messages[user_ping.id].pings.users == {world.alice.id}


@pytest.mark.asyncio
async def test_command_sync_rejects_a_33_character_name(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        assert bot.application_id is not None
        with pytest.raises(discord.HTTPException) as caught:
            await bot.http.bulk_upsert_global_commands(
                bot.application_id, [{"name": "a" * 33, "description": "too long a name", "type": 1}]
            )
        assert caught.value.code == 50035
        assert world.fake.commands.list(None) == []


@pytest.mark.asyncio
async def test_command_sync_rejects_a_101_character_description(world: World) -> None:
    bot = make_bot()

    @bot.tree.command(description="d" * 101)
    async def wordy(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("hi")

    async with running_bot(world.fake, bot):
        with pytest.raises(discord.HTTPException) as caught:
            await bot.tree.sync()
        assert caught.value.code == 50035


@pytest.mark.asyncio
async def test_autocomplete_with_26_choices_is_rejected(world: World) -> None:
    bot = make_bot()

    async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{current}{i}", value=str(i)) for i in range(26)]

    @bot.tree.command(description="Pick a topic")
    @app_commands.autocomplete(topic=suggest)
    async def pick(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.send_message(topic)

    async with running_bot(world.fake, bot):
        await bot.tree.sync()
        handle = await world.fake.autocomplete(
            world.guild, world.channel, world.alice, "pick", {"topic": "py"}, "topic"
        )
        await handle.wait_response()
        assert handle.choices is None
        assert "invalid_form_body" in kinds(world.fake)


@pytest.mark.asyncio
async def test_expired_token_followup_gets_401(world: World) -> None:
    bot = make_bot()
    release = asyncio.Event()
    errors: list[discord.HTTPException] = []

    @bot.tree.command(description="Very slow answer")
    async def ask(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await release.wait()
        try:
            await interaction.followup.send("too late")
        except discord.HTTPException as exc:
            errors.append(exc)

    async with running_bot(world.fake, bot):
        await bot.tree.sync()
        handle = await world.fake.invoke_command(world.guild, world.channel, world.alice, "ask")
        await handle.wait_response()
        world.fake.clock.advance(15 * 60 + 1)
        release.set()
        await world.fake.wait_until(lambda: errors)
        assert errors[0].status == 401 and errors[0].code == 50027
        assert kinds(world.fake) == ["token_expired"]
        assert handle.thinking


@pytest.mark.asyncio
async def test_button_click_and_message_mention_reach_the_bot(world: World) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    bot = make_bot(intents)
    seen: list[str] = []

    class Confirm(discord.ui.View):
        @discord.ui.button(label="Yes", custom_id="yes")
        async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
            await interaction.response.edit_message(content="confirmed", view=None)

    @bot.tree.command(description="Ask for confirmation")
    async def confirm(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("sure?", view=Confirm())

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    async with running_bot(world.fake, bot):
        await bot.tree.sync()
        handle = await world.fake.invoke_command(world.guild, world.channel, world.alice, "confirm")
        await handle.wait_done()
        assert handle.original is not None and handle.original.button_ids() == ["yes"]
        click = await world.fake.click_button(handle.original, world.alice, "yes")
        await click.wait_done()
        assert click.response_type == 7 and handle.original.content == "confirmed"
        assert handle.original.components == []
        await world.fake.send_message(world.channel, world.alice, "hello", mentions=[world.fake.bot_user])
        await world.fake.wait_until(lambda: any("hello" in s for s in seen))
        assert f"<@{world.fake.bot_user.id}> hello" in seen
    world.fake.assert_no_violations()


@pytest.mark.asyncio
async def test_attachment_option_is_downloadable_and_thread_is_created(world: World) -> None:
    bot = make_bot()

    @bot.tree.command(description="Ingest a file")
    async def ingest(interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        await interaction.response.send_message(
            f"{file.filename}: {len(data)} bytes, limit {interaction.filesize_limit}"
        )
        message = await interaction.original_response()
        thread = await message.create_thread(name="discussion")
        await thread.send("thread reply")

    async with running_bot(world.fake, bot):
        await bot.tree.sync()
        upload = world.fake.add_attachment(
            world.channel, "notes.txt", b"hello world", content_type="text/plain"
        )
        handle = await world.fake.invoke_command(
            world.guild, world.channel, world.alice, "ingest", {"file": upload}
        )
        reply = await world.fake.wait_for_message(check=lambda m: m.content == "thread reply")
        assert (
            handle.original is not None and handle.original.content == "notes.txt: 11 bytes, limit 10485760"
        )
        assert handle.original.thread_id == reply.channel_id
        assert world.fake.channels[reply.channel_id].parent_id == world.channel.id
    world.fake.assert_no_violations()
