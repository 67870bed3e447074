"""Nothing citebot posts pings anyone but the helper role, and only through the "Ask a helper" button."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.handoff import LABEL, helper_mentions, helper_message
from config.settings import Settings
from tests.bot.harness import ANSWER_TIMEOUT, World, WorldFactory, bot_settings
from tests.fakediscord import Pings
from tests.fakediscord.validation import compute_pings

BOT = Path(__file__).resolve().parents[2] / "bot"
# Pieces that ping when Discord parses them, mixed with words.
HOSTILE = st.sampled_from(
    ["@everyone", "@here", "<@123>", "<@!123>", "<@&456>", "<@&", "@", "<", ">", "&", "\\", "**", "`", "\n"]
)
WORDS = st.sampled_from(["who", "won", "the", "cup", "final", "in", "1998", "why", "is", "sky", "green"])
TEXT = st.lists(st.one_of(HOSTILE, WORDS, st.text(max_size=8)), max_size=40).map(" ".join)


@given(question=TEXT, caller=TEXT, role_id=st.integers(1, 2**63 - 1), abstained=st.booleans())
def test_a_hand_off_pings_the_helper_role_and_no_one_else(
    question: str, caller: str, role_id: int, abstained: bool
) -> None:
    content = helper_message(role_id, caller, question, abstained)
    allowed = helper_mentions(role_id).to_dict()

    assert compute_pings(content, dict(allowed)) == Pings(roles={role_id})
    assert allowed == {"parse": [], "roles": [role_id]}
    assert content.startswith(f"<@&{role_id}> ") and 0 < len(content) <= 2000


def _allowed_mentions_values(path: Path) -> list[str]:
    """Return the source of every allowed_mentions= keyword argument in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        ast.unparse(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "allowed_mentions"
    ]


def test_only_the_hand_off_passes_mentions_other_than_none() -> None:
    found = {
        str(path.relative_to(BOT.parent)): value
        for path in sorted(BOT.rglob("*.py"))
        for value in _allowed_mentions_values(path)
        if value not in ("NO_PINGS", "discord.AllowedMentions.none()")
    }

    assert found == {"bot/handoff.py": "helper_mentions(config.helper_role_id)"}


@pytest.mark.model
async def test_whatever_is_asked_and_whoever_asks_only_the_button_pings_and_only_the_role(
    make_world: WorldFactory, quiet_settings: Settings
) -> None:
    async with make_world(bot_settings(quiet_settings, helper_cooldown=0.0)) as world:
        role = world.fake.create_role(world.guild, "helpers", mentionable=True)
        await world.fake.flush()
        await world.run("citebot settings helper-role", {"role": role})
        loop = asyncio.get_running_loop()

        @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(question=TEXT, name=TEXT)
        def ask_and_call(question: str, name: str) -> None:
            future = asyncio.run_coroutine_threadsafe(_ask_and_call(world, question, name), loop)
            future.result(timeout=4 * ANSWER_TIMEOUT)

        await asyncio.to_thread(ask_and_call)

        pinging = [m for m in world.fake.bot_messages() if m.pinging]
        assert pinging, "at least one helper was called"
        for msg in pinging:
            assert msg.pings == Pings(roles={role.id}), msg.content
            handle = world.fake.interactions[msg.interaction_id or 0]
            assert handle.name.startswith("component cb:helper:"), handle.name
        world.fake.assert_no_violations()


async def _ask_and_call(world: World, question: str, name: str) -> None:
    """Ask a question by @mention as a new member, and call a helper if the answer offers one."""
    asker = world.fake.add_member(world.guild, name.strip()[:32] or "x")
    await world.fake.flush()
    waiting = asyncio.ensure_future(
        world.fake.wait_for_message(check=lambda m: bool(m.embeds), timeout=ANSWER_TIMEOUT)
    )
    await asyncio.sleep(0)
    await world.fake.send_message(
        world.channel, asker, f"who won the 1998 cup final? {question}"[:400], mentions=[world.fake.bot_user]
    )
    answer = await waiting
    if any(b.startswith("cb:helper:") for b in answer.button_ids()):
        await world.press(answer, LABEL, user=asker)
