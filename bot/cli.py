"""The `citebot` console script: the core commands plus the Discord ones (serve, sync)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from retrieval import cli

if TYPE_CHECKING:
    from config.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_serve  # discord.py loads only for the Discord commands

    return run_serve(settings)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_sync

    return run_sync(settings, args.guild, args.clear)


def _invite(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_invite

    return run_invite(settings, args.app_id)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve` and `sync` to the command line."""
    p = sub.add_parser("serve", help="run the Discord bot (token from DISCORD_TOKEN)")
    p.set_defaults(handler=_serve)
    p = sub.add_parser("sync", help="register the slash commands with Discord (globally, or to one server)")
    p.add_argument(
        "--guild",
        type=int,
        metavar="ID",
        help="server id: commands appear there at once (copies of the global ones)",
    )
    p.add_argument(
        "--clear",
        action="store_true",
        help="remove the registered commands (global, or the server's with --guild)",
    )
    p.set_defaults(handler=_sync)
    p = sub.add_parser(
        "invite", help="print the link that adds the bot to a server, with the permissions it uses"
    )
    p.add_argument(
        "--app-id", type=int, metavar="ID", help="application id (default: asked from Discord with the token)"
    )
    p.set_defaults(handler=_invite)


def main(argv: Sequence[str] | None = None) -> int:
    """Run citebot's command line."""
    if register not in cli.EXTRA_COMMANDS:
        cli.EXTRA_COMMANDS.append(register)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
