"""/citebot settings end to end: editor role, answer channels, cooldowns."""

from __future__ import annotations

import asyncio
import re

import pytest

from config.settings import MAX_COOLDOWN, DiscordSettings, Settings
from tests.bot.harness import (
    ANSWER_TIMEOUT,
    KIM_QUESTION,
    MANAGE_GUILD,
    World,
    WorldFactory,
    bot_settings,
    embed_of,
)

pytestmark = pytest.mark.model

NOT_MANAGER = "Only people with Manage Server can change citebot's settings."


async def test_a_member_with_the_editor_role_can_add_once_it_is_set(world: World) -> None:
    librarians = world.fake.create_role(world.guild, "Librarians")
    lib = world.fake.add_member(world.guild, "lib", roles=[librarians])
    await world.fake.flush()
    before = await world.add_text("The archive opens at nine.", title="Opening hours", user=lib)
    assert before.original is not None and before.original.content.startswith("Only people with Manage")

    saved = await world.run("citebot settings editor-role", {"role": librarians})

    assert saved.ephemeral and saved.original is not None
    assert saved.original.content.startswith(f"Saved.\n**Editor role:** <@&{librarians.id}>")
    assert not saved.original.pinging
    after = await world.add_text("The archive opens at nine.", title="Opening hours", user=lib)
    assert after.original is not None and after.original.content.startswith("Added **Opening hours**")
    world.fake.assert_no_violations()


async def test_settings_are_hidden_from_members_without_manage_server(world: World) -> None:
    librarians = world.fake.create_role(world.guild, "Librarians")
    await world.run("citebot settings editor-role", {"role": librarians})
    lib = world.fake.add_member(world.guild, "lib", roles=[librarians])  # an editor, not a manager
    await world.fake.flush()

    [group] = [c for c in world.fake.commands.list(None) if c["name"] == "citebot"]
    assert int(group["default_member_permissions"]) == MANAGE_GUILD
    for who in (world.member, lib):
        with pytest.raises(PermissionError, match="hidden from this member"):
            await world.command("citebot settings show", user=who)


async def test_non_managers_cannot_change_settings_even_when_an_admin_shows_them_the_command(
    world: World,
) -> None:
    librarians = world.fake.create_role(world.guild, "Librarians")
    await world.run("citebot settings editor-role", {"role": librarians})
    lib = world.fake.add_member(world.guild, "lib", roles=[librarians])  # an editor, not a manager
    await world.fake.flush()
    for who in (world.member, lib):  # Server Settings → Integrations → citebot: allow them
        world.fake.permit_command(world.guild, "citebot", who)

    attempts = [
        await world.run("citebot settings editor-role", {}, user=world.member),
        await world.run("citebot settings cooldown", {"command": "ask", "seconds": 0}, user=lib),
        await world.run(
            "citebot settings answer-channel", {"channel": world.channel, "enabled": True}, user=lib
        ),
    ]

    for refused in attempts:
        assert refused.ephemeral and refused.original is not None
        assert refused.original.content == NOT_MANAGER
    config = await world.bot.guild_config(world.guild.id)
    assert config.editor_role_id == librarians.id and config.answer_channels == ()
    shown = await world.run("citebot settings show", user=world.member)
    assert shown.original is not None and "**Editor role:** <@&" in shown.original.content
    world.fake.assert_no_violations()


async def test_answer_channel_answers_every_message_without_a_mention(world: World) -> None:
    desk = world.fake.create_channel(world.guild, "ask-here")
    await world.fake.flush()
    saved = await world.run("citebot settings answer-channel", {"channel": desk, "enabled": True})
    assert saved.original is not None and f"<#{desk.id}>" in saved.original.content

    waiting = asyncio.ensure_future(world.fake.wait_for_message(channel=desk, timeout=ANSWER_TIMEOUT))
    await asyncio.sleep(0)
    question = await world.fake.send_message(desk, world.member, KIM_QUESTION)
    answer = await waiting

    assert embed_of(answer)["title"] == KIM_QUESTION
    assert answer.reference is not None and answer.reference["message_id"] == str(question.id)
    assert not answer.pinging
    assert not [c for c in world.fake.channels.values() if c.parent_id == desk.id], "no thread inline"
    world.fake.assert_no_violations()


async def test_server_cooldown_setting_refuses_a_quick_second_ask(world: World) -> None:
    saved = await world.run("citebot settings cooldown", {"command": "ask", "seconds": 60})
    assert saved.original is not None and "/ask 60 s" in saved.original.content

    await world.ask(KIM_QUESTION, user=world.member)
    again = await world.ask(KIM_QUESTION, user=world.member)

    assert again.ephemeral and again.original is not None
    assert re.fullmatch(r"You're going a bit fast: try /ask again in (59|60) s\.", again.original.content)
    world.fake.assert_no_violations()


async def test_a_server_cooldown_holds_on_the_first_ask_after_a_restart(world: World) -> None:
    await world.run("citebot settings cooldown", {"command": "ask", "seconds": 60})
    await world.ask(KIM_QUESTION, user=world.member)
    world.bot.configs._cache.clear()  # a restarted bot has read no server's settings yet
    world.bot.cooldowns._last.clear()
    await world.ask(KIM_QUESTION, user=world.member)

    refused = await world.ask(KIM_QUESTION, user=world.member)

    assert refused.ephemeral and refused.original is not None and "again in" in refused.original.content
    world.fake.assert_no_violations()


async def test_slash_command_bounds_come_from_the_settings(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    limits = quiet_settings.limits.model_copy(update={"max_question_chars": 321, "max_title_chars": 77})
    async with make_world(bot_settings(quiet_settings.model_copy(update={"limits": limits}))) as world:
        ask, add = world.fake.commands.find(None, "ask"), world.fake.commands.find(None, "add")
        group = world.fake.commands.find(None, "citebot")
    assert ask is not None and add is not None and group is not None
    assert [(o["min_length"], o["max_length"]) for o in ask["options"] if o["name"] == "question"] == [
        (1, 321)
    ]
    assert [(o["min_length"], o["max_length"]) for o in add["options"] if o["name"] == "title"] == [(1, 77)]
    [settings] = [o for o in group["options"] if o["name"] == "settings"]
    [cooldown] = [o for o in settings["options"] if o["name"] == "cooldown"]
    [seconds] = [o for o in cooldown["options"] if o["name"] == "seconds"]
    assert seconds["max_value"] == MAX_COOLDOWN
    assert DiscordSettings(ask_cooldown=MAX_COOLDOWN, add_cooldown=MAX_COOLDOWN)  # the same bound in config


async def test_a_manager_can_choose_only_sure_answers(world: World) -> None:
    saved = await world.run("citebot settings answers", {"show": "sure"})

    assert saved.ephemeral and saved.original is not None
    assert "**Answers:** only sure ones" in saved.original.content
    assert (await world.bot.guild_config(world.guild.id)).only_sure
    back = await world.run("citebot settings answers", {"show": "all"})
    assert back.original is not None and "**Answers:** all, unsure ones marked" in back.original.content
    assert not (await world.bot.guild_config(world.guild.id)).only_sure
    world.fake.assert_no_violations()
