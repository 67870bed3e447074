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


PACKAGES = ("bot", "cli", "config", "retrieval", "seeds", "tests", "tools")
# Who may import whom: the library (retrieval) knows no front door; config knows nothing of
# citebot; the bot never reaches into the command-line apps.
FORBIDDEN = {
    "retrieval": {"discord", "bot", "cli", "tools", "tests"},
    "config": {"discord", "bot", "cli", "retrieval", "tools", "tests"},
    "bot": {"cli", "tools", "tests"},
    "cli": {"tools", "tests"},
}
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def _sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", _sources(*FORBIDDEN), ids=_rel)
def test_each_layer_imports_only_the_layers_below_it(path: Path) -> None:
    layer = path.relative_to(ROOT).parts[0]
    bad = {name for name in _imports(path) if name.split(".")[0] in FORBIDDEN[layer]}
    assert not bad, f"{_rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _sources("bot/exts"), ids=_rel)
def test_extensions_never_import_each_other(path: Path) -> None:
    bad = {name for name in _imports(path) if name.startswith("bot.exts")}
    assert not bad, f"{_rel(path)} imports {sorted(bad)}: shared code belongs in bot/"


@pytest.mark.parametrize("path", _sources(*PACKAGES), ids=_rel)
def test_source_files_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_FILE_LINES, f"{_rel(path)} is over {MAX_FILE_LINES} lines: split it"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{_rel(path)}:{node.lineno} {node.name} is {length} lines"


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
