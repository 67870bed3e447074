"""Slash-command option bounds taken from the settings, not written twice."""

from __future__ import annotations

import dataclasses
from typing import Any

from discord import app_commands

STRING_OPTION_MAX = 6000  # Discord's own cap on a string option's max_length


def with_max_length(command: app_commands.Command[Any, ..., Any], **limits: int) -> None:
    """Bound string options of a command to 1..limit characters (sent to Discord when it syncs)."""
    # discord.py fixes bounds when the class is defined (Range[str, 1, N]); citebot's limits are
    # settings, known only once the bot is built. discord.py reads these fields when it syncs.
    params = command._params
    for name, limit in limits.items():
        params[name] = dataclasses.replace(params[name], min_value=1, max_value=min(limit, STRING_OPTION_MAX))
