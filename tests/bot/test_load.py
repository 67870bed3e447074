"""Load: 200 concurrent /ask from 50 people while a large article is ingested.

Asserts what Discord enforces (every interaction acknowledged within 3 s, every one
answered, no rule broken) and prints the figures: event-loop lag p99, answers per second
and acknowledgement times. Run `make loadtest` to see them. The fake Discord shares the
bot's event loop here, so the lag measured includes the fake's own work (pessimistic).
"""

from __future__ import annotations

import asyncio
import json
import time

from tests.bot.harness import World, embed_of
from tests.fakediscord import InteractionHandle

TOPICS = [
    "train",
    "journey",
    "armor",
    "carriages",
    "summit",
    "Putin",
    "locomotive",
    "cosmodrome",
    "border",
    "Vladivostok",
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _lag_monitor(samples: list[float], stop: asyncio.Event, period: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(period)
        samples.append(max(0.0, loop.time() - before - period) * 1000)


async def test_200_concurrent_asks_during_a_large_ingest_are_all_acknowledged_and_answered(
    world: World,
) -> None:
    await world.bot.ensure_guild(world.guild.id)
    users = [world.fake.add_member(world.guild, f"user{i}") for i in range(50)]
    await world.fake.flush()
    text = "\n\n".join(
        f"Depot {i} logged {i * 13} wagons of timber and {i * 7} of coal in week {i % 52}. " * 3
        for i in range(400)
    )
    upload = world.fake.add_attachment(world.channel, "depots.txt", text.encode(), content_type="text/plain")
    lag: list[float] = []
    stop = asyncio.Event()
    monitor = asyncio.create_task(_lag_monitor(lag, stop))
    adding = await world.command("add", {"file": upload})
    await world.fake.wait_until(lambda: world.fake.requests_to("attachment"), 30)

    started = time.perf_counter()
    questions = [f"What about the {TOPICS[i % 10]} of Kim's trip, point {i}?" for i in range(200)]
    handles: list[InteractionHandle] = await asyncio.gather(
        *(world.command("ask", {"question": q}, user=users[i % 50]) for i, q in enumerate(questions))
    )
    await asyncio.gather(*(h.wait_done(300) for h in handles))
    elapsed = time.perf_counter() - started
    await adding.wait_done(300)
    stop.set()
    await monitor

    acks = [h.responded_at - h.created_at for h in handles if h.responded_at is not None]
    assert len(acks) == 200
    assert max(acks) < world.fake.response_deadline
    assert all(embed_of(h.original)["title"] for h in handles)
    assert adding.original is not None and adding.original.content.startswith("Added")
    world.fake.assert_no_violations()
    figures = {
        "asks": len(handles),
        "users": len(users),
        "answers_per_s": round(len(handles) / elapsed, 2),
        "ack_ms_p50": round(_percentile(acks, 0.5) * 1000, 1),
        "ack_ms_max": round(max(acks) * 1000, 1),
        "loop_lag_ms_p99": round(_percentile(lag, 0.99), 1),
        "loop_lag_ms_max": round(max(lag), 1),
    }
    print("\nload:", json.dumps(figures))
