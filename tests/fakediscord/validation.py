"""Discord's message, embed, component and mention rules, checked on every payload the bot sends."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import EMPTY_MESSAGE, ApiError, FormErrors
from .models import Pings

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_CHOICES = 25

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)\b")


def embed_size(embed: dict[str, Any]) -> int:
    """Return the characters an embed counts towards the 6000 limit."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for fld in embed.get("fields") or []:
        total += len(fld.get("name") or "") + len(fld.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def check_embeds(errors: FormErrors, embeds: list[dict[str, Any]], prefix: str = "embeds") -> None:
    """Record violations of the per-embed and per-message embed limits."""
    errors.max_len(prefix, embeds, MAX_EMBEDS)
    for i, embed in enumerate(embeds):
        path = f"{prefix}.{i}"
        errors.max_len(f"{path}.title", embed.get("title"), 256)
        errors.max_len(f"{path}.description", embed.get("description"), 4096)
        fields = embed.get("fields") or []
        errors.max_len(f"{path}.fields", fields, 25)
        for j, fld in enumerate(fields):
            errors.between(f"{path}.fields.{j}.name", fld.get("name"), 1, 256)
            errors.between(f"{path}.fields.{j}.value", fld.get("value"), 1, 1024)
        errors.max_len(f"{path}.footer.text", (embed.get("footer") or {}).get("text"), 2048)
        errors.max_len(f"{path}.author.name", (embed.get("author") or {}).get("name"), 256)
    total = sum(embed_size(e) for e in embeds)
    if total > MAX_EMBED_TOTAL:
        errors.add(prefix, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of 6000 ({total})")


def check_components(errors: FormErrors, components: list[dict[str, Any]], flags: int) -> None:
    """Record violations of the action-row, button and select limits."""
    if flags & (1 << 15):  # components v2: only the overall count is checked here
        errors.max_len("components", components, 40)
        return
    errors.max_len("components", components, 5)
    for i, row in enumerate(components):
        if row.get("type") != 1:
            errors.add(
                f"components.{i}.type", "UNION_TYPE_CHOICES", "Top-level components must be action rows"
            )
            continue
        children = row.get("components") or []
        errors.between(f"components.{i}.components", children, 1, 5)
        for j, comp in enumerate(children):
            path = f"components.{i}.components.{j}"
            if "custom_id" in comp:
                errors.between(f"{path}.custom_id", comp["custom_id"], 1, 100)
            errors.max_len(f"{path}.label", comp.get("label"), 80)
            errors.max_len(f"{path}.options", comp.get("options"), 25)
            if comp.get("type") == 2 and comp.get("style") != 5 and "custom_id" not in comp:
                errors.add(f"{path}.custom_id", "BASE_TYPE_REQUIRED", "This field is required")


def check_allowed_mentions(errors: FormErrors, allowed: dict[str, Any] | None) -> None:
    """Record the parse/users and parse/roles conflicts Discord rejects."""
    if not allowed:
        return
    parse = allowed.get("parse") or []
    for kind in ("users", "roles"):
        if kind in parse and allowed.get(kind):
            errors.add(
                f"allowed_mentions.{kind}",
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids] are mutually exclusive.',
            )
        errors.max_len(f"allowed_mentions.{kind}", allowed.get(kind), 100)


def check_message(
    payload: dict[str, Any], *, files: int = 0, creating: bool = True, prefix: str = ""
) -> FormErrors:
    """Validate a create/edit message body; raise 50006 for an empty new message."""
    errors = FormErrors()
    content = payload.get("content")
    if content is not None:
        errors.max_len(f"{prefix}content", content, MAX_CONTENT)
    check_embeds(errors, payload.get("embeds") or [], f"{prefix}embeds")
    check_components(errors, payload.get("components") or [], payload.get("flags") or 0)
    check_allowed_mentions(errors, payload.get("allowed_mentions"))
    errors.max_len(f"{prefix}attachments", payload.get("attachments"), 10)
    if creating and is_empty(payload, files):
        raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message", kind="empty_message")
    return errors


def is_empty(payload: dict[str, Any], files: int = 0) -> bool:
    """Return whether a message body has nothing Discord can display."""
    return not (
        payload.get("content")
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("attachments")
        or files
        or payload.get("sticker_ids")
        or payload.get("poll")
    )


def check_choices(choices: Any) -> FormErrors:
    """Validate an autocomplete result: at most 25 choices with 1-100 character names."""
    errors = FormErrors()
    if not isinstance(choices, list):
        errors.add("data.choices", "BASE_TYPE_REQUIRED", "This field is required")
        return errors
    errors.max_len("data.choices", choices, MAX_CHOICES)
    for i, choice in enumerate(choices):
        errors.between(f"data.choices.{i}.name", choice.get("name"), 1, 100)
        value = choice.get("value")
        if isinstance(value, str):
            errors.max_len(f"data.choices.{i}.value", value, 100)
    return errors


def check_modal(data: dict[str, Any]) -> FormErrors:
    """Validate a modal: title 1-45, custom_id 1-100, 1-5 top-level components, valid text inputs."""
    errors = FormErrors()
    errors.between("data.title", data.get("title"), 1, 45)
    errors.between("data.custom_id", data.get("custom_id"), 1, 100)
    errors.between("data.components", data.get("components"), 1, 5)
    for i, row in enumerate(data.get("components") or []):
        path = f"data.components.{i}"
        if row.get("type") == 18:  # a label around one component
            errors.between(f"{path}.label", row.get("label"), 1, 45)
            errors.max_len(f"{path}.description", row.get("description"), 100)
            inputs = [row.get("component") or {}]
        else:
            inputs = row.get("components") or []
        for j, comp in enumerate(inputs):
            if comp.get("type") == 4:
                _check_text_input(errors, f"{path}.components.{j}", comp, labelled=row.get("type") == 18)
            elif comp.get("type") == 3:
                _check_modal_select(errors, f"{path}.component", comp, labelled=row.get("type") == 18)
    return errors


def _check_modal_select(errors: FormErrors, path: str, comp: dict[str, Any], *, labelled: bool) -> None:
    """String selects in a modal: inside a Label, never disabled, 1-25 options, sane value counts."""
    if not labelled:
        errors.add(path, "COMPONENT_TYPE_INVALID", "Select menus in a modal must be inside a Label")
    if comp.get("disabled"):
        errors.add(
            f"{path}.disabled", "COMPONENT_DISABLED_IN_MODAL", "Modals cannot have disabled components"
        )
    errors.between(f"{path}.custom_id", comp.get("custom_id"), 1, 100)
    errors.max_len(f"{path}.placeholder", comp.get("placeholder"), 150)
    options = comp.get("options") or []
    errors.between(f"{path}.options", options, 1, 25)
    for k, option in enumerate(options):
        errors.between(f"{path}.options.{k}.label", option.get("label"), 1, 100)
        errors.between(f"{path}.options.{k}.value", option.get("value"), 1, 100)
        errors.max_len(f"{path}.options.{k}.description", option.get("description"), 100)
    low, high = comp.get("min_values", 1), comp.get("max_values", 1)
    if not 0 <= low <= 25 or not 1 <= high <= 25 or low > high or high > max(1, len(options)):
        errors.add(f"{path}.max_values", "NUMBER_TYPE_MAX", "min_values/max_values out of range")


def _check_text_input(errors: FormErrors, path: str, comp: dict[str, Any], *, labelled: bool) -> None:
    """Text inputs: style 1 (short) or 2 (paragraph), lengths 0-4000, a label unless inside a Label."""
    errors.between(f"{path}.custom_id", comp.get("custom_id"), 1, 100)
    if comp.get("style") not in (1, 2):
        errors.add(f"{path}.style", "BASE_TYPE_CHOICES", "Value must be one of (1, 2).")
    if labelled:
        if comp.get("label") is not None:
            errors.add(
                f"{path}.label", "COMPONENT_LABEL_IN_LABEL", "Text inputs inside a label have no label"
            )
    else:
        errors.between(f"{path}.label", comp.get("label"), 1, 45)
    low, high = comp.get("min_length"), comp.get("max_length")
    if low is not None and not 0 <= low <= 4000:
        errors.add(f"{path}.min_length", "NUMBER_TYPE_MAX", "Must be between 0 and 4000.")
    if high is not None and not 1 <= high <= 4000:
        errors.add(f"{path}.max_length", "NUMBER_TYPE_MAX", "Must be between 1 and 4000.")
    errors.max_len(f"{path}.value", comp.get("value"), 4000 if high is None else min(high, 4000))
    errors.max_len(f"{path}.placeholder", comp.get("placeholder"), 100)


def text_inputs(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return a modal's text inputs, whether in action rows or labels."""
    found: list[dict[str, Any]] = []
    for row in components:
        for comp in [row.get("component") or {}, *(row.get("components") or [])]:
            if comp.get("type") == 4:
                found.append(comp)
    return found


def check_modal_values(modal: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Refuse what Discord's client would not let a person submit (required, lengths, select choices)."""
    for row in modal.get("components") or []:
        comp = row.get("component") or {}
        if comp.get("type") == 3:
            _check_picked(comp, list(values.get(comp["custom_id"], [])))
    for comp in text_inputs(modal.get("components") or []):
        value = values.get(comp["custom_id"], comp.get("value") or "")
        required = comp.get("required", True)
        if required and not value:
            raise ValueError(f"text input {comp['custom_id']!r} is required")
        if value and not (comp.get("min_length") or 0) <= len(value) <= (comp.get("max_length") or 4000):
            raise ValueError(f"text input {comp['custom_id']!r}: {len(value)} characters is out of range")


def compute_pings(
    content: str, allowed: dict[str, Any] | None, *, replied_user_id: int | None = None
) -> Pings:
    """Return who ``content`` notifies; a missing allowed_mentions parses everything."""
    if allowed is None:
        parse = {"everyone", "users", "roles"}
        users: set[int] = set()
        roles: set[int] = set()
        reply_ping = True
    else:
        parse = set(allowed.get("parse") or [])
        users = {int(x) for x in allowed.get("users") or []}
        roles = {int(x) for x in allowed.get("roles") or []}
        reply_ping = bool(allowed.get("replied_user", False))
    found_users = {int(x) for x in _USER_MENTION.findall(content)}
    found_roles = {int(x) for x in _ROLE_MENTION.findall(content)}
    return Pings(
        everyone="everyone" in parse and bool(_EVERYONE.search(content)),
        users=found_users if "users" in parse else found_users & users,
        roles=found_roles if "roles" in parse else found_roles & roles,
        replied_user=replied_user_id is not None and reply_ping,
    )


def _check_picked(comp: dict[str, Any], picked: list[str]) -> None:
    """A select's submitted values: offered options only, as many as min/max_values allow."""
    offered = {o.get("value") for o in comp.get("options") or []}
    if unknown := [v for v in picked if v not in offered]:
        raise ValueError(f"select {comp['custom_id']!r}: {unknown} are not among its options")
    low = comp.get("min_values", 1) if comp.get("required", True) else 0
    if not low <= len(picked) <= comp.get("max_values", 1):
        raise ValueError(
            f"select {comp['custom_id']!r}: {len(picked)} values picked, allowed {low}-{comp.get('max_values', 1)}"
        )
