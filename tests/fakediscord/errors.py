"""Discord-shaped API errors raised by the fake's handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# JSON error codes used by Discord (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_COMMAND = 10063
UNKNOWN_INTERACTION = 10062
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS = 50005
EMPTY_MESSAGE = 50006
INVALID_FORM_BODY = 50035
INVALID_WEBHOOK_TOKEN = 50027
ALREADY_ACKNOWLEDGED = 40060
ENTITY_TOO_LARGE = 40005
THREAD_ALREADY_EXISTS = 160004
THREAD_ARCHIVED = 50083


class ApiError(Exception):
    """An error response; ``kind`` names the violation recorded for it (None: not the bot's fault)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        kind: str | None = "api_error",
        errors: dict[str, Any] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(detail or message)
        self.status = status
        self.code = code
        self.message = message
        self.kind = kind
        self.errors = errors
        self.detail = detail or message

    def body(self) -> dict[str, Any]:
        """Return the JSON body Discord would send."""
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


@dataclass
class FormErrors:
    """Collect field errors and render them in Discord's nested 50035 format."""

    items: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, path: str, code: str, message: str) -> None:
        """Record an error at a dotted path such as ``embeds.0.title``."""
        self.items.append((path, code, message))

    def max_len(self, path: str, value: Any, limit: int) -> None:
        """Record an error if a string or list is longer than ``limit``."""
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def between(self, path: str, value: Any, low: int, high: int) -> None:
        """Record an error unless ``low <= len(value) <= high``."""
        if value is None or not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def __bool__(self) -> bool:
        return bool(self.items)

    def nested(self) -> dict[str, Any]:
        """Return the errors as Discord's nested ``errors`` object."""
        root: dict[str, Any] = {}
        for path, code, message in self.items:
            node = root
            for part in path.split("."):
                node = node.setdefault(part, {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        return root

    def raise_if_any(self) -> None:
        """Raise a 400 / 50035 ApiError if any error was recorded."""
        if self.items:
            summary = "; ".join(f"{p}: {m}" for p, _, m in self.items)
            raise ApiError(
                400,
                INVALID_FORM_BODY,
                "Invalid Form Body",
                kind="invalid_form_body",
                errors=self.nested(),
                detail=summary,
            )
