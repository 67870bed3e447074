"""Write config/citebot.toml from the settings model's defaults and descriptions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from config.settings import Settings

HEADER = """\
# citebot settings, with their defaults. Every value can be set in the environment:
# CITEBOT_<SECTION>__<KEY>, e.g. CITEBOT_SEARCH__K=5 or CITEBOT_CHROMA__URL=http://127.0.0.1:8000,
# in a .env file in the working directory, or in a TOML file like this one named by
# CITEBOT_CONFIG_FILE. The Discord token may also come from DISCORD_TOKEN.
# This file is checked against the code's defaults by tests/test_structure.py;
# regenerate it with: .venv/bin/python -m tools.gen_config
"""


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return json.dumps(str(value))
    return json.dumps(value)


def _lines(model: type[BaseModel], prefix: str) -> list[str]:
    out: list[str] = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            continue
        if field.description:
            out.append(f"# {field.description}")
        default = field.get_default(call_default_factory=True)
        if name == "data_dir":
            out.append('# data_dir = "<the user data dir, e.g. ~/.local/share/citebot>"')
        elif default is None:
            out.append(f"# {name} = (unset)  [{prefix}{name.upper()}]")
        elif hasattr(default, "get_secret_value"):
            out.append(f"# {name} = (secret)")
        else:
            out.append(f"{name} = {_value(default)}")
    return out


def render() -> str:
    """Return the documented default configuration as TOML."""
    parts = [HEADER, *_lines(Settings, "CITEBOT_"), ""]
    for name, field in Settings.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            doc = (sub.__doc__ or "").strip()
            parts += [f"[{name}]", f"# {doc}", *_lines(sub, f"CITEBOT_{name.upper()}__"), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Write the documented defaults to config/citebot.toml (or the given file)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("config") / "citebot.toml")
    args = parser.parse_args(argv)
    args.output.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
