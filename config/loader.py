"""Load settings once, turning validation failures into one readable message."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from config.settings import Settings


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable."""


def _variable_name(loc: tuple[Any, ...]) -> str:
    return "CITEBOT_" + "__".join(str(part).upper() for part in loc)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from CITEBOT_* variables, an optional TOML file and overrides."""
    file_values: dict[str, Any] = {}
    config_file = os.environ.get("CITEBOT_CONFIG_FILE")
    if config_file:
        try:
            file_values = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"CITEBOT_CONFIG_FILE={config_file}: cannot read it ({exc})") from exc
    try:
        settings = Settings(**{**file_values, **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"{_variable_name(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"bad setting: {problems}") from exc
    token = os.environ.get("DISCORD_TOKEN")
    if settings.discord.token is None and token:
        settings.discord.token = SecretStr(token)
    return settings
