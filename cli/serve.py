"""The Discord commands of the command line: serve, sync and invite (discord.py loads only for these)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Discord bot until it is stopped."""
    from bot.app import run_serve

    return run_serve(settings)


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    """Register the slash commands globally or to one server, or remove them (--clear)."""
    from bot.app import run_sync

    return run_sync(settings, args.guild, args.clear)


def cmd_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print the link that adds the bot to a server, with the permissions it uses."""
    from bot.app import run_invite

    return run_invite(settings, args.app_id)
