"""`citebot sync` and `citebot serve` as real processes, pointed at the fake Discord by settings."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.app import build_bot
from bot.exts.menus import ADD_MENU, ANSWER_MENU
from config.settings import Settings
from tests.bot.harness import KIM_QUESTION, MANAGE_GUILD, embed_of, first_channel
from tests.fakediscord import FakeDiscord, patch_discord

pytestmark = pytest.mark.model
# Slash commands, then the message context menus (Apps → …), sorted as `citebot sync` lists them.
COMMANDS = sorted(
    [
        "add",
        "ask",
        "citebot",
        "forget-me",
        "help",
        "refresh",
        "remove",
        "solved",
        "sources",
        ADD_MENU,
        ANSWER_MENU,
    ]
)
# The process imports torch and loads the real model before it connects.
START_TIMEOUT = 90.0
INFO_LOG = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ INFO ")


def cli_env(fake: FakeDiscord, token: str | None = None) -> dict[str, str]:
    """Return the environment of a citebot process aimed at the fake (data dir: the test's own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_DISCORD__", "DISCORD_TOKEN"))}
    env |= {
        "CITEBOT_DISCORD__API_BASE": fake.api_base,
        "CITEBOT_DISCORD__GATEWAY_URL": fake.gateway_url,
        "CITEBOT_DISCORD__ASK_COOLDOWN": "0",
        "CITEBOT_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    if token is not None:
        env["DISCORD_TOKEN"] = token
    return env


@dataclass
class Process:
    """A running citebot process whose output is collected as it comes."""

    proc: asyncio.subprocess.Process
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        """Return what the process wrote to stderr so far."""
        return "".join(self.err)


async def _collect(stream: asyncio.StreamReader | None, into: list[str]) -> None:
    while stream is not None and (line := await stream.readline()):
        into.append(line.decode(errors="replace"))


@contextlib.asynccontextmanager
async def citebot(*args: str, env: dict[str, str]) -> AsyncIterator[Process]:
    """Run `python -m cli ARGS`, collecting its output; terminate it on exit."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    running = Process(proc)
    readers = asyncio.gather(_collect(proc.stdout, running.out), _collect(proc.stderr, running.err))
    try:
        yield running
    finally:
        if proc.returncode is None:
            proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 10)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await readers


def said(process: Process) -> list[str]:
    """Return the stderr lines that are not INFO logs (warnings, errors, tracebacks, messages)."""
    return [line.rstrip("\n") for line in process.err if line.strip() and not INFO_LOG.match(line)]


async def exit_code(process: Process, timeout: float = START_TIMEOUT) -> int:
    """Wait for the process to end and return its exit code."""
    return await asyncio.wait_for(process.proc.wait(), timeout)


async def register_commands(fake: FakeDiscord, settings: Settings) -> None:
    """Sync the command tree to the fake in-process (what `citebot sync` does, without a subprocess)."""
    bot = build_bot(settings, serve=False)
    with patch_discord(fake):
        async with bot:
            await bot.login(fake.token)
            await bot.tree.sync()


async def test_sync_registers_the_commands_and_names_them() -> None:
    async with FakeDiscord() as fake, citebot("sync", env=cli_env(fake, fake.token)) as process:
        code = await exit_code(process)

        assert code == 0, process.stderr
        assert sorted(c["name"] for c in fake.commands.list(None)) == COMMANDS
        assert "".join(process.out).strip() == (
            "synced 11 commands to all servers (global; may take a while to appear): " + ", ".join(COMMANDS)
        )
        fake.assert_no_violations()


async def test_sync_to_one_server_registers_there() -> None:
    async with FakeDiscord() as fake:
        guild = fake.create_guild("Test Guild")
        async with citebot("sync", "--guild", str(guild.id), env=cli_env(fake, fake.token)) as process:
            code = await exit_code(process)

        assert code == 0, process.stderr
        assert sorted(c["name"] for c in fake.commands.list(guild.id)) == COMMANDS
        assert fake.commands.list(None) == []
        assert "".join(process.out).startswith(
            f"synced 11 commands to server {guild.id}: Add to citebot, Ans"
        )
        fake.assert_no_violations()


async def test_sync_clear_removes_the_commands_of_a_server_or_everywhere(settings: Settings) -> None:
    async with FakeDiscord() as fake:
        guild = fake.create_guild("Test Guild")
        env = cli_env(fake, fake.token)
        async with citebot("sync", "--guild", str(guild.id), env=env) as process:
            assert await exit_code(process) == 0, process.stderr
        await register_commands(fake, settings)  # and globally: every command would show twice there
        assert len(fake.commands.list(guild.id)) == len(fake.commands.list(None)) == len(COMMANDS)

        async with citebot("sync", "--clear", "--guild", str(guild.id), env=env) as process:
            assert await exit_code(process) == 0, process.stderr
            assert process.out[0] == f"removed citebot's commands from server {guild.id}\n"
        assert fake.commands.list(guild.id) == [] and len(fake.commands.list(None)) == len(COMMANDS)

        async with citebot("sync", "--clear", env=env) as process:
            assert await exit_code(process) == 0, process.stderr
        assert fake.commands.list(None) == []
        fake.assert_no_violations()


async def test_invite_prints_the_link_with_the_permissions_the_code_uses() -> None:
    async with FakeDiscord() as fake, citebot("invite", env=cli_env(fake, fake.token)) as process:
        code = await exit_code(process)

        assert code == 0, process.stderr
        link = process.out[0].strip()
        assert link == (
            f"https://discord.com/oauth2/authorize?client_id={fake.app_id}"
            "&scope=bot+applications.commands&permissions=326417599488"
        )
        listed = "".join(process.out)
        for name in ("View Channel", "Send Messages in Threads", "Create Public Threads", "Embed Links"):
            assert f"  {name}: " in listed
        fake.assert_no_violations()


async def test_invite_with_an_application_id_needs_no_token() -> None:
    async with FakeDiscord() as fake, citebot("invite", "--app-id", "1234", env=cli_env(fake)) as process:
        assert await exit_code(process) == 0, process.stderr
        assert process.out[0].startswith("https://discord.com/oauth2/authorize?client_id=1234&")
        assert fake.requests == []


async def ask_once_ready(fake: FakeDiscord, process: Any, guild: Any, user: Any) -> Any:
    """Wait until the served bot is connected, then ask the seed question as user."""
    await fake.wait_until(
        lambda: any(s.ready for s in fake.sessions) or process.proc.returncode is not None,
        START_TIMEOUT,
    )
    assert process.proc.returncode is None, process.stderr
    handle = await fake.invoke_command(guild, first_channel(guild), user, "ask", {"question": KIM_QUESTION})
    return await handle.wait_done(30)


async def test_serve_connects_and_answers_an_ask(settings: Settings) -> None:
    async with FakeDiscord() as fake:
        guild = fake.create_guild("Test Guild")
        alice = fake.add_member(guild, "alice", permissions=MANAGE_GUILD)
        await register_commands(fake, settings)
        async with citebot("serve", env=cli_env(fake, fake.token)) as process:
            handle = await ask_once_ready(fake, process, guild, alice)

            embed = embed_of(handle.original)
            assert embed["title"] == KIM_QUESTION and "[1]" in embed["description"]
            assert embed["footer"]["text"].startswith("Asked by alice · Searched 1 article in ")
            assert (
                f"invite link (add citebot to a server): https://discord.com/oauth2/authorize?client_id={fake.app_id}&"
                in process.stderr
            )
        fake.assert_no_violations()


async def test_serve_with_a_wrong_token_says_so_in_one_line() -> None:
    async with FakeDiscord() as fake, citebot("serve", env=cli_env(fake, "not-the-token")) as process:
        code = await exit_code(process)

        assert code == 1
        assert said(process) == [
            "citebot: error: Discord rejected the bot token (DISCORD_TOKEN); check it in the developer portal"
        ]
        assert fake.requests_to("get_me")[-1].status == 401
        assert [v.kind for v in fake.violations] == ["unauthorized"]


async def test_serve_with_discord_unreachable_says_so_in_one_line() -> None:
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with FakeDiscord() as fake:
        env = cli_env(fake, fake.token) | {"CITEBOT_DISCORD__API_BASE": f"http://127.0.0.1:{port}/api/v10"}
        async with citebot("serve", env=env) as process:
            code = await exit_code(process)

        assert code == 1
        [line] = said(process)
        assert line.startswith(f"citebot: error: cannot reach Discord at http://127.0.0.1:{port}/api/v10 ")
        assert fake.requests == [] and fake.violations == []


@pytest.mark.parametrize("command", ["serve", "invite"])
async def test_discord_answering_an_http_error_is_said_in_one_line(command: str) -> None:
    async with FakeDiscord() as fake:
        base = fake.api_base.replace("/api/", "/not-the-api/")  # a mistyped API base: every route 404
        env = cli_env(fake, fake.token) | {"CITEBOT_DISCORD__API_BASE": base}
        async with citebot(command, env=env) as process:
            code = await exit_code(process)

        assert code == 1
        [line] = said(process)
        assert line.startswith(
            f"citebot: error: Discord answered HTTP 404 at {base} (CITEBOT_DISCORD__API_BASE)"
        )
        assert "Traceback" not in process.stderr


async def test_a_web_page_where_discord_should_be_is_said_in_one_line(tmp_path: Any) -> None:
    # Any web server: its 404 is a page of HTML, not Discord's JSON.
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        async with FakeDiscord() as fake:
            base = f"http://127.0.0.1:{server.server_address[1]}/api/v10"
            env = cli_env(fake, fake.token) | {"CITEBOT_DISCORD__API_BASE": base}
            async with citebot("invite", env=env) as process:
                code = await exit_code(process)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1
    assert said(process) == [
        f"citebot: error: Discord answered HTTP 404 at {base} (CITEBOT_DISCORD__API_BASE): File not found"
    ]


async def test_serve_without_a_token_says_so_in_one_line() -> None:
    async with FakeDiscord() as fake, citebot("serve", env=cli_env(fake)) as process:
        code = await exit_code(process)

        assert code == 1
        assert process.stderr == (
            "citebot: error: no Discord bot token: set DISCORD_TOKEN (or CITEBOT_DISCORD__TOKEN)\n"
        )
        assert fake.requests == [] and fake.violations == []


async def test_serve_without_the_message_content_intent_falls_back_and_answers_commands(
    settings: Settings,
) -> None:
    async with FakeDiscord(privileged_intents=()) as fake:
        guild = fake.create_guild("Test Guild")
        alice = fake.add_member(guild, "alice")
        await register_commands(fake, settings)
        async with citebot("serve", env=cli_env(fake, fake.token)) as process:
            handle = await ask_once_ready(fake, process, guild, alice)

            assert "[1]" in embed_of(handle.original)["description"]
            assert "the Message Content intent is not enabled for this bot" in process.stderr
            assert process.stderr.count("loading embedding model") == 1, "the model is loaded once"
        assert [v.kind for v in fake.violations] == ["disallowed_intents"]
        assert fake.gateway_closes[0][0] == 4014
