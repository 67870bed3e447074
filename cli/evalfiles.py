"""Reading the evaluation's JSON-lines files: one record per line, each field checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from retrieval.errors import InvalidInput

T = TypeVar("T")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file, or raise InvalidInput naming the problem."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc
    try:
        return [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not JSON lines: {exc}") from exc


def read_rows(path: Path, make: Callable[[dict[str, Any]], T], split: str = "all") -> list[T]:
    """Read a JSON-lines file into rows, keeping one split; a bad line raises InvalidInput naming it."""
    out = []
    for n, r in enumerate(read_jsonl(path), 1):
        if not isinstance(r, dict):
            raise InvalidInput(f"{path}: record {n} is not a JSON object")
        if split not in ("all", r.get("split")):
            continue
        try:
            out.append(make(r))
        except KeyError as exc:
            raise InvalidInput(f"{path}: record {n} lacks {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{path}: record {n} has a bad value ({exc})") from exc
    return out


def field_of(record: dict[str, Any], key: str, kind: type, optional: bool = False) -> Any:
    """Return a record's field, or raise KeyError if missing or ValueError if not of its kind.

    A list is of strings, and not empty unless the field is optional.
    """
    value = record.get(key) if optional else record[key]
    if value is None and optional:
        return None
    if kind is list:
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) for v in value)
            or not (value or optional)
        ):
            raise ValueError(f"'{key}' must be a {'' if optional else 'non-empty '}list of strings")
    elif not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"'{key}' must be {'a whole number' if kind is int else 'text'}")
    return value
