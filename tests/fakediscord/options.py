"""Build interaction ``data`` the way Discord's client does: options, resolved objects, modal values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import payloads
from .models import Channel, Guild, Member, Message, Role, StoredAttachment, User

if TYPE_CHECKING:
    from .server import FakeDiscordBase

# Python value -> application command option type, for commands the fake has no schema of.
_OPTION_TYPES: tuple[tuple[type, int], ...] = (
    (bool, 5),
    (int, 4),
    (float, 10),
    (str, 3),
    (Member, 6),
    (User, 6),
    (Channel, 7),
    (Role, 8),
    (StoredAttachment, 11),
)


def user_of(who: User | Member) -> User:
    """Return the user behind a member (or the user itself)."""
    return who.user if isinstance(who, Member) else who


def command_options(
    fake: FakeDiscordBase,
    cmd: dict[str, Any] | None,
    parts: list[str],
    values: Mapping[str, Any],
    resolved: dict[str, Any],
    guild: Guild | None,
    focused: str | None,
) -> list[dict[str, Any]]:
    """Return ``data.options`` for ``/parts...`` with ``values``, nesting sub-command groups."""
    schema: list[dict[str, Any]] | None = cmd.get("options", []) if cmd else None
    path: list[tuple[str, int]] = []
    for depth, sub in enumerate(parts[1:], start=2):
        node = next((o for o in schema or [] if o["name"] == sub), None)
        if schema is not None and node is None:
            raise LookupError(f"{sub!r} is not a sub-command of /{' '.join(parts[: depth - 1])}")
        path.append((sub, node["type"] if node else (1 if depth == len(parts) else 2)))
        schema = node.get("options", []) if node else None
    if schema is not None and focused is None:
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
        if missing:
            raise ValueError(f"/{' '.join(parts)} needs required options {missing}")
    options = [_option(fake, k, v, schema, resolved, guild, k == focused) for k, v in values.items()]
    for sub, kind in reversed(path):
        options = [{"name": sub, "type": kind, "options": options}]
    return options


def _option(
    fake: FakeDiscordBase,
    name: str,
    value: Any,
    schema: list[dict[str, Any]] | None,
    resolved: dict[str, Any],
    guild: Guild | None,
    focused: bool,
) -> dict[str, Any]:
    spec = next((o for o in schema or [] if o["name"] == name), None)
    if schema is not None and spec is None:
        raise LookupError(f"option {name!r} is not one of {[o['name'] for o in schema]}")
    kind = spec["type"] if spec else next(k for t, k in _OPTION_TYPES if isinstance(value, t))
    if focused:
        return {"name": name, "type": kind, "value": str(value), "focused": True}
    if isinstance(value, StoredAttachment):
        resolved.setdefault("attachments", {})[str(value.id)] = payloads.attachment(fake, value)
    elif isinstance(value, (User, Member)):
        user = user_of(value)
        resolved.setdefault("users", {})[str(user.id)] = payloads.user(user)
        if guild is not None and user.id in guild.members:
            perms = guild.permissions_of(user.id)
            member = payloads.member(fake, guild.members[user.id], with_user=False, permissions=perms)
            resolved.setdefault("members", {})[str(user.id)] = member
    elif isinstance(value, Role):
        resolved.setdefault("roles", {})[str(value.id)] = payloads.role(value, fake)
    elif isinstance(value, Channel):
        resolved.setdefault("channels", {})[str(value.id)] = payloads.channel(fake, value) | {
            "permissions": "0"
        }
    else:
        return {"name": name, "type": kind, "value": value}
    return {"name": name, "type": kind, "value": str(value.id)}


def find_component(message: Message, custom_id: str) -> dict[str, Any]:
    """Return the component with ``custom_id`` on a message (LookupError if there is none)."""
    stack = list(message.components)
    while stack:
        comp = stack.pop()
        if comp.get("custom_id") == custom_id:
            return comp
        stack.extend(comp.get("components", []))
        stack.extend(c for c in (comp.get("component"), comp.get("accessory")) if c)
    raise LookupError(f"message {message.id} has no component {custom_id!r}; it has {message.button_ids()}")


def modal_values(components: list[dict[str, Any]], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Mirror a modal's layout with the submitted values (text inputs and selects)."""
    out: list[dict[str, Any]] = []
    for comp in components:
        kind = comp.get("type")
        item: dict[str, Any]
        if kind == 1:
            item = {"type": 1, "components": modal_values(comp.get("components", []), values)}
        elif kind == 18 and modal_values([comp["component"]], values):
            item = {"type": 18, "component": modal_values([comp["component"]], values)[0]}
        elif kind == 4:
            item = {
                "type": 4,
                "custom_id": comp["custom_id"],
                "value": values.get(comp["custom_id"], comp.get("value") or ""),
            }
        elif "custom_id" in comp:
            item = {
                "type": kind,
                "custom_id": comp["custom_id"],
                "values": list(values.get(comp["custom_id"], [])),
            }
        else:
            continue
        if "id" in comp:
            item["id"] = comp["id"]
        out.append(item)
    return out
