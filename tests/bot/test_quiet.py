"""The quiet rules, one by one (bot/quiet.py): pure functions, table-style."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import quiet
from bot.guilds import GuildConfig
from bot.helpdesk import Debouncer
from bot.quiet import Rules, Situation, is_chatter, reads_as_question, reason_to_stay_quiet
from bot.solved import solved_text

QUESTION = "How fast is Kim's train?"


@pytest.mark.parametrize(
    "text",
    [
        "How fast is Kim's train?",
        "how fast is the train",  # no question mark: the form is enough
        "Hi! How do I reset my password",
        "hey all, where is the station",
        "Can someone explain the route",
        "Is there a way to see the timetable",
        "I need the ticket price for the night train",
        "I'm looking for the opening hours",
        "I want to know how long the trip takes",
        "Anyone know who built the bridge",
        "I set up the app yesterday. Now what should I do next",
        "not sure how to change my region",
        "I can't figure out the export settings",
        "Tell me about the carriages",
        "please list the stops",
        "¿Cuánto cuesta el billete?",
        "列車の速度は？",
        "the docs say 60 km/h?",
    ],
)
def test_questions_and_requests_read_as_questions(text: str) -> None:
    assert reads_as_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "I restarted the router and now it works",
        "The train left at nine.",
        "see https://example.org/faq?id=3 for details",  # a "?" inside a link asks nothing
        "my cat is asleep on the keyboard",
        "and the plane",  # leaning on a question before: only in a thread
        "so I went home",
    ],
)
def test_statements_do_not_read_as_questions(text: str) -> None:
    assert not reads_as_question(text)


def test_a_follow_on_reads_as_a_question_in_a_thread_only() -> None:
    assert reads_as_question("and the plane", follow_up=True)
    assert reads_as_question("what about the distance", follow_up=True)
    assert not reads_as_question("so I went home", follow_up=True)


@pytest.mark.parametrize(
    "text",
    [
        "thanks!",
        "Thank you so much, that fixed it",
        "thx",
        "hello?",
        "hi everyone",
        "good morning all",
        "ok cool",
        "lol",
        "nice one",
        "great, thank you so much",
        "got it, it works now",
        "👍",
        "yes it does",
        "same here",
    ],
)
def test_greetings_thanks_and_short_replies_are_chatter(text: str) -> None:
    assert is_chatter(text)


@pytest.mark.parametrize(
    "text",
    [
        "how fast?",
        "tell me about the carriages",
        "Who built it",
        "speed of the train?",
        "Thanks! One more: how long is the trip?",
        "hi, how do I reset my password",
        "The route goes through Khasan and then north to Vladivostok",
    ],
)
def test_questions_and_longer_messages_are_not_chatter(text: str) -> None:
    assert not is_chatter(text)


def test_a_short_follow_on_in_a_thread_is_not_chatter() -> None:
    assert is_chatter("and the plane")
    assert not is_chatter("and the plane", follow_up=True)


ASK = Situation(QUESTION)


@pytest.mark.parametrize(
    ("situation", "reason"),
    [
        (ASK, None),
        (replace(ASK, solved=True), quiet.SOLVED),
        (replace(ASK, solved=True, mentioned=True), quiet.SOLVED),  # never in a solved thread
        (replace(ASK, handed_off=True), quiet.HANDED_OFF),
        (replace(ASK, handed_off=True, mentioned=True), None),  # a mention still works after a hand-off
        (replace(ASK, from_asker=False), quiet.NOT_ASKER),
        (replace(ASK, from_asker=False, mentioned=True), None),
        (replace(ASK, answers=3), quiet.ANSWER_LIMIT),
        (replace(ASK, answers=2), None),
        (replace(ASK, answers=3, mentioned=True), None),
        (replace(ASK, replies_to_person=True), quiet.BETWEEN_PEOPLE),
        (Situation("thanks, that worked!"), quiet.CHATTER),
        (Situation("The train left at nine this morning."), quiet.NOT_A_QUESTION),
        (Situation("The train left at nine this morning.", mentioned=True), None),
        (replace(ASK, staff_replied=True), quiet.STAFF_REPLIED),
        (replace(ASK, staff_replied=False), None),
        (replace(ASK, staff_replied=True, mentioned=True), None),
        (Situation("and the plane", in_thread=True), None),
    ],
)
def test_each_rule_keeps_citebot_quiet_by_default(situation: Situation, reason: str | None) -> None:
    assert reason_to_stay_quiet(Rules(), situation) == reason


@pytest.mark.parametrize(
    ("rules", "situation"),
    [
        (Rules(max_answers=0), replace(ASK, answers=50)),
        (Rules(skip_chatter=False), replace(ASK, replies_to_person=True)),
        (Rules(skip_chatter=False, only_questions=False), Situation("thanks, that worked!")),
        (Rules(only_questions=False), Situation("The train left at nine this morning.")),
        (Rules(after_staff=False), replace(ASK, staff_replied=True)),
    ],
)
def test_each_rule_can_be_turned_off(rules: Rules, situation: Situation) -> None:
    assert reason_to_stay_quiet(Rules(), situation) is not None
    assert reason_to_stay_quiet(rules, situation) is None


def test_rules_come_from_the_servers_settings() -> None:
    config = GuildConfig(
        only_questions=False, skip_chatter=False, quiet_after_staff=False, max_thread_answers=7
    )
    assert Rules.of(config) == Rules(
        only_questions=False, skip_chatter=False, after_staff=False, max_answers=7
    )
    assert Rules.of(GuildConfig()) == Rules()


def test_settings_survive_a_round_trip_through_their_record() -> None:
    config = GuildConfig(
        helper_role_id=5, only_questions=False, debounce=2.5, max_thread_answers=1, dry_run=True
    )
    assert GuildConfig.from_record(config.to_record()) == config


PING = re.compile(r"@(everyone|here)\b|<@[!&]?\d+>")


@given(
    name=st.text(min_size=1, max_size=60)
    | st.sampled_from(["@everyone", "<@123>", "<@&5> [x](https://e.example)"])
)
def test_the_solved_note_never_pings_or_links_whatever_the_name(name: str) -> None:
    text = solved_text(name)
    assert not PING.search(text) and "](http" not in text
    assert len(text) <= 2000


class _Place:
    def __init__(self, id: int) -> None:
        self.id = id


class _Message:
    """What the debouncer reads of a message: where, and who."""

    def __init__(self, channel: int, author: int, content: str = "") -> None:
        self.channel, self.author, self.content = _Place(channel), _Place(author), content


async def test_the_debouncer_gathers_the_same_persons_next_messages_in_the_same_place() -> None:
    debouncer = Debouncer()
    first, more, elsewhere, other = _Message(1, 7), _Message(1, 7), _Message(2, 7), _Message(1, 8)
    assert not debouncer.absorb(more)  # nothing is being waited on yet

    waiting = asyncio.ensure_future(debouncer.collect(first, 0.2, 1.0))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert debouncer.absorb(more)  # type: ignore[arg-type]
    assert not debouncer.absorb(elsewhere) and not debouncer.absorb(other)  # type: ignore[arg-type]

    assert await waiting == [first, more]
    assert not debouncer.absorb(_Message(1, 7))  # type: ignore[arg-type]  # done: a new question next


async def test_the_debouncer_stops_waiting_at_the_longest_wait() -> None:
    debouncer = Debouncer()
    first = _Message(1, 7)
    waiting = asyncio.ensure_future(debouncer.collect(first, 0.1, 0.3))  # type: ignore[arg-type]
    for _ in range(300):  # someone who keeps typing, faster than the delay, for up to ~9 s
        if waiting.done():
            break
        debouncer.absorb(_Message(1, 7))  # type: ignore[arg-type]
        await asyncio.sleep(0.03)
    assert waiting.done(), "the longest wait ends the gathering even while messages keep coming"
    assert len(await waiting) > 3


async def test_no_delay_means_no_waiting() -> None:
    first = _Message(1, 7)
    assert await Debouncer().collect(first, 0, 0) == [first]  # type: ignore[arg-type]
