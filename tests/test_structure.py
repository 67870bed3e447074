"""Structural rules: layering, documented defaults, shipped data."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
from pydantic import BaseModel

from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "retrieval").rglob("*.py")), ids=lambda p: p.name)
def test_retrieval_never_imports_discord_or_the_bot(path: Path) -> None:
    bad = {name for name in _imports(path) if name.split(".")[0] in {"discord", "bot"}}
    assert not bad, f"{path.name} imports {bad}"


def _defaults(model: type[BaseModel]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out[name] = _defaults(annotation)
        elif name != "data_dir":
            value = field.get_default(call_default_factory=True)
            if value is not None:
                out[name] = value
    return out


def test_documented_config_equals_the_code_defaults() -> None:
    documented = tomllib.loads((ROOT / "config" / "citebot.toml").read_text(encoding="utf-8"))
    assert documented == _defaults(Settings)


def test_documented_config_is_a_valid_settings_file() -> None:
    documented = tomllib.loads((ROOT / "config" / "citebot.toml").read_text(encoding="utf-8"))
    Settings(**documented)


def test_every_seed_in_the_manifest_validates() -> None:
    manifest = json.loads((ROOT / "seeds" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["articles"], "no seed articles"
    for entry in manifest["articles"]:
        assert set(entry) <= {"file", "title", "source", "author", "date", "url"}
        assert {"file", "title", "source"} <= set(entry)
        text = (ROOT / "seeds" / entry["file"]).read_text(encoding="utf-8")
        assert len(text.split()) > 100
        assert 0 < len(entry["title"]) <= 200
        if entry.get("date"):
            date.fromisoformat(entry["date"])
        assert entry.get("url") is None or re.match(r"^https?://", entry["url"])


def test_every_seed_file_is_listed_in_the_manifest() -> None:
    manifest = json.loads((ROOT / "seeds" / "manifest.json").read_text(encoding="utf-8"))
    listed = {entry["file"] for entry in manifest["articles"]}
    shipped = {p.name for p in (ROOT / "seeds").iterdir() if p.suffix in {".txt", ".md"}}
    assert listed == shipped
