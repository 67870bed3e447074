"""Application command validation and storage (global and per guild)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import FormErrors

_NAME = re.compile(r"[-_\w]{1,32}")
MAX_COMMAND_SIZE = 4000
MAX_PER_TYPE = {1: 100, 2: 5, 3: 5}


def _check_name(errors: FormErrors, path: str, name: Any) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name != name.lower():
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")


def _size(node: dict[str, Any]) -> int:
    total = len(node.get("name") or "") + len(node.get("description") or "")
    for choice in node.get("choices") or []:
        total += len(choice.get("name") or "") + len(str(choice.get("value") or ""))
    return total + sum(_size(opt) for opt in node.get("options") or [])


def check_command(errors: FormErrors, cmd: dict[str, Any], path: str = "") -> None:
    """Record every rule a command definition breaks (names, descriptions, options, size)."""
    kind = cmd.get("type", 1)
    if kind not in (1, 2, 3):  # chat input, user and message commands (4, entry points, are not used)
        errors.add(f"{path}type", "BASE_TYPE_CHOICES", f"Value must be one of (1, 2, 3), got {kind!r}")
    if kind == 1:
        _check_name(errors, f"{path}name", cmd.get("name"))
        errors.between(f"{path}description", cmd.get("description"), 1, 100)
    else:
        errors.between(f"{path}name", cmd.get("name"), 1, 32)
        if cmd.get("description") or cmd.get("options"):
            errors.add(
                f"{path}description",
                "APPLICATION_COMMAND_CONTEXT_MENU",
                "Context menus take no description or options",
            )
    _check_options(errors, cmd.get("options") or [], f"{path}options", depth=0)
    _check_access_fields(errors, cmd, path)
    if _size(cmd) > MAX_COMMAND_SIZE:
        errors.add(
            path.rstrip(".") or "_root",
            "APPLICATION_COMMAND_TOO_LARGE",
            "Command exceeds maximum size (4000)",
        )


def _check_access_fields(errors: FormErrors, cmd: dict[str, Any], path: str) -> None:
    """Check default_member_permissions (a permission integer, or its string), contexts, integration types."""
    perms = cmd.get("default_member_permissions")
    valid = (isinstance(perms, int) and not isinstance(perms, bool) and perms >= 0) or (
        isinstance(perms, str) and perms.isdigit()
    )
    if perms is not None and not valid:
        errors.add(
            f"{path}default_member_permissions", "BASE_TYPE_BAD_INT", "Value is not a valid permission set"
        )
    for key, allowed in (("contexts", {0, 1, 2}), ("integration_types", {0, 1})):
        value = cmd.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not value or any(v not in allowed for v in value):
            errors.add(
                f"{path}{key}", "BASE_TYPE_CHOICES", f"Value must be a non-empty list of {sorted(allowed)}"
            )


def _check_options(errors: FormErrors, options: list[dict[str, Any]], path: str, depth: int) -> None:
    errors.max_len(path, options, 25)
    if len({opt.get("type") in (1, 2) for opt in options}) > 1:
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-commands cannot be mixed with other options",
        )
    seen: set[str] = set()
    optional_seen = False
    for i, opt in enumerate(options):
        here = f"{path}.{i}"
        kind = opt.get("type")
        _check_name(errors, f"{here}.name", opt.get("name"))
        errors.between(f"{here}.description", opt.get("description"), 1, 100)
        if opt.get("name") in seen:
            errors.add(
                f"{here}.name",
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        seen.add(opt.get("name"))
        if kind not in range(1, 12):
            errors.add(f"{here}.type", "BASE_TYPE_CHOICES", f"Value must be one of 1..11, got {kind!r}")
        elif kind in (1, 2):
            if (kind == 2 and depth > 0) or (kind == 1 and depth > 1):
                errors.add(
                    f"{here}.type", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-commands nest too deep"
                )
            children = opt.get("options") or []
            if kind == 2 and any(child.get("type") != 1 for child in children):
                errors.add(
                    f"{here}.options",
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Groups hold sub-commands only",
                )
            _check_options(errors, children, f"{here}.options", depth + 1 if kind == 2 else 2)
        else:
            if opt.get("required") and optional_seen:
                errors.add(
                    f"{here}.required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
            optional_seen = optional_seen or not opt.get("required")
            choices = opt.get("choices") or []
            errors.max_len(f"{here}.choices", choices, 25)
            for k, choice in enumerate(choices):
                errors.between(f"{here}.choices.{k}.name", choice.get("name"), 1, 100)
                if isinstance(choice.get("value"), str):
                    errors.max_len(f"{here}.choices.{k}.value", choice["value"], 100)
            if choices and opt.get("autocomplete"):
                errors.add(
                    f"{here}.autocomplete",
                    "APPLICATION_COMMAND_AUTOCOMPLETE",
                    "Autocomplete cannot have choices",
                )


class CommandRegistry:
    """Registered commands: scope None is global, an int is a guild id."""

    def __init__(self, app_id: int, new_id: Callable[[], int]) -> None:
        self.app_id = app_id
        self._new_id = new_id
        self.scopes: dict[int | None, dict[tuple[str, int], dict[str, Any]]] = {}
        self.creates: list[int | None] = []

    def list(self, scope: int | None) -> list[dict[str, Any]]:
        """Return the commands of a scope."""
        return list(self.scopes.get(scope, {}).values())

    def find(self, guild_id: int | None, name: str, kind: int = 1) -> dict[str, Any] | None:
        """Return the command a user in ``guild_id`` would invoke by name (guild first, then global)."""
        if guild_id is not None and (name, kind) in self.scopes.get(guild_id, {}):
            return self.scopes[guild_id][name, kind]
        return self.scopes.get(None, {}).get((name, kind))

    def by_id(self, scope: int | None, command_id: int) -> dict[str, Any] | None:
        """Return a command of a scope by id."""
        return next((c for c in self.list(scope) if int(c["id"]) == command_id), None)

    def overwrite(self, scope: int | None, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Validate and replace all commands of a scope (PUT semantics)."""
        errors = FormErrors()
        keys: set[tuple[str, int]] = set()
        counts: dict[int, int] = {}
        for i, cmd in enumerate(commands):
            check_command(errors, cmd, f"{i}.")
            key = (cmd.get("name", ""), cmd.get("type", 1))
            if key in keys:
                errors.add(
                    f"{i}.name",
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            keys.add(key)
            counts[key[1]] = counts.get(key[1], 0) + 1
        for kind, count in counts.items():
            if count > MAX_PER_TYPE.get(kind, 100):
                errors.add(
                    "_root", "APPLICATION_COMMANDS_TOO_MANY", f"Too many commands of type {kind}: {count}"
                )
        errors.raise_if_any()
        old = self.scopes.get(scope, {})
        self.scopes[scope] = {}
        for cmd in commands:
            key = (cmd["name"], cmd.get("type", 1))
            self.scopes[scope][key] = self._stored(scope, cmd, old.get(key))
        return self.list(scope)

    def upsert(self, scope: int | None, cmd: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Validate and create or replace one command; return it and whether it is new."""
        errors = FormErrors()
        check_command(errors, cmd)
        errors.raise_if_any()
        key = (cmd["name"], cmd.get("type", 1))
        existing = self.scopes.setdefault(scope, {}).get(key)
        self.scopes[scope][key] = self._stored(scope, cmd, existing)
        return self.scopes[scope][key], existing is None

    def delete(self, scope: int | None, command_id: int) -> bool:
        """Delete a command by id; return whether it existed."""
        cmd = self.by_id(scope, command_id)
        if cmd is None:
            return False
        del self.scopes[scope][cmd["name"], cmd.get("type", 1)]
        return True

    def _stored(
        self, scope: int | None, cmd: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        if existing is None:
            self.creates.append(scope)
        stored: dict[str, Any] = {
            "default_member_permissions": None,
            "nsfw": False,
            "integration_types": [0],
            "contexts": None,
            **cmd,
            "id": existing["id"] if existing else str(self._new_id()),
            "application_id": str(self.app_id),
            "version": str(self._new_id()),
            "type": cmd.get("type", 1),
            "description": cmd.get("description", ""),
            "options": cmd.get("options") or [],
        }
        if scope is not None:
            stored["guild_id"] = str(scope)
        return stored
