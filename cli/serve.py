"""The Discord commands of the command line: serve and sync (discord.py loads only for these)."""

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
    """Register the slash commands globally, or to one server."""
    from bot.app import run_sync

    return run_sync(settings, args.guild)
