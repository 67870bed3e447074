"""Bot rules that need no Discord: cooldowns, follow-ups, knowledge-base names, settings."""

from __future__ import annotations

import pytest

from bot.cooldowns import Cooldowns
from bot.exts.mentions import is_follow_up, strip_mentions
from bot.guilds import GuildConfig, GuildConfigs, kb_for
from bot.quiet import is_chatter
from config.settings import Settings
from retrieval.compose import build_async, build_service
from retrieval.errors import RateLimited
from retrieval.store import validate_kb_name
from tests.fakes import HashEmbedder


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_held_to_one_use_per_period() -> None:
    clock = FakeClock()
    cooldowns = Cooldowns(clock)
    cooldowns.hit("ask", 1, 7, 5.0)
    refused = 0
    for _ in range(50):
        clock.now += 0.05
        try:
            cooldowns.hit("ask", 1, 7, 5.0)
        except RateLimited as exc:
            refused += 1
            assert "try /ask again in" in str(exc)
    assert refused == 50


def test_the_wait_is_told_in_whole_seconds() -> None:
    clock = FakeClock()
    cooldowns = Cooldowns(clock)
    cooldowns.hit("add", 1, 7, 30.0)
    clock.now += 10.2
    with pytest.raises(RateLimited) as exc:
        cooldowns.hit("add", 1, 7, 30.0)
    assert exc.value.retry_after == 20
    assert "20 s" in str(exc.value)


def test_cooldowns_are_per_user_and_per_server() -> None:
    cooldowns = Cooldowns(FakeClock())
    cooldowns.hit("ask", 1, 7, 60)
    cooldowns.hit("ask", 1, 8, 60)
    cooldowns.hit("ask", 2, 7, 60)


def test_a_cooldown_expires() -> None:
    clock = FakeClock()
    cooldowns = Cooldowns(clock)
    cooldowns.hit("ask", 1, 7, 5)
    clock.now += 5.01
    cooldowns.hit("ask", 1, 7, 5)


def test_zero_cooldown_never_refuses() -> None:
    cooldowns = Cooldowns(FakeClock())
    for _ in range(10):
        cooldowns.hit("ask", 1, 7, 0)


@pytest.mark.parametrize(
    "text", ["and how long does it take?", "what about the speed", "Why?", "it is slow?"]
)
def test_short_or_leaning_questions_are_follow_ups(text: str) -> None:
    assert is_follow_up(text)


def test_a_full_new_question_is_not_a_follow_up() -> None:
    assert not is_follow_up("Which Russian official accompanied Kim Jong Il on the 2001 trip to Moscow?")


def test_the_bot_mention_is_removed_from_the_question() -> None:
    assert strip_mentions("<@42> how fast is it? <@!42>", 42) == "how fast is it?"


@pytest.mark.parametrize("guild_id", [1, 10**19, 1234567890123456789])
def test_server_knowledge_bases_are_derived_from_the_id_alone(guild_id: int) -> None:
    assert validate_kb_name(kb_for(guild_id)) == f"g{guild_id}"


async def test_server_settings_persist_in_chroma(settings: Settings) -> None:
    configs = GuildConfigs(build_async(build_service(settings, embedder=HashEmbedder())))
    assert await configs.get(5) == GuildConfig()
    await configs.update(5, editor_role_id=99, answer_channels=(3, 4))
    again = GuildConfigs(build_async(build_service(settings, embedder=HashEmbedder())))
    assert await again.get(5) == GuildConfig(editor_role_id=99, answer_channels=(3, 4))
    assert await again.get(6) == GuildConfig()


@pytest.mark.parametrize("text", ["thanks!", "ok cool", "lol", "nice one", "great, thank you so much"])
def test_small_talk_is_chatter(text: str) -> None:
    assert is_chatter(text)


@pytest.mark.parametrize(
    "text",
    ["how fast?", "tell me about the carriages", "Who built it", "speed of the train?", "and the plane"],
)
def test_questions_and_requests_are_not_chatter(text: str) -> None:
    assert not is_chatter(text, follow_up=True)  # in a thread, after a question


def test_the_bots_role_mention_is_removed_from_the_question() -> None:
    assert strip_mentions("<@&7> how fast is it?", 42, role_id=7) == "how fast is it?"


def test_the_invite_asks_for_exactly_the_permissions_the_readme_explains() -> None:
    from pathlib import Path

    import discord

    from bot.permissions import LABELS, USED, invite_permissions

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for name, why in USED.items():
        assert f"| {LABELS[name]} | {why} |" in readme
    assert f"Permission integer `{invite_permissions().value}`" in readme
    assert invite_permissions() == discord.Permissions(**dict.fromkeys(USED, True))
    assert bin(invite_permissions().value).count("1") == len(USED)
