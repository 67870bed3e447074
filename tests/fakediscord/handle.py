"""The handle a test holds on one interaction it started."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .models import Channel, Guild, Message, User, Violation

if TYPE_CHECKING:
    from .server import FakeDiscordBase


class InteractionHandle:
    """What the bot did with one interaction: response, original message, followups, choices, modal."""

    def __init__(
        self,
        fake: FakeDiscordBase,
        *,
        id: int,
        token: str,
        type: int,
        name: str,
        guild: Guild | None,
        channel: Channel,
        user: User,
        message: Message | None = None,
    ) -> None:
        self.fake = fake
        self.id = id
        self.token = token
        self.type = type
        self.name = name
        self.guild = guild
        self.channel = channel
        self.user = user
        self.message = message
        self.payload: dict[str, Any] = {}
        self.created_at = fake.clock.time()
        self.callbacks: list[dict[str, Any]] = []
        self.response_type: int | None = None
        self.responded_at: float | None = None
        self.original: Message | None = None
        self.followups: list[Message] = []
        self.choices: list[dict[str, Any]] | None = None
        self.modal: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<InteractionHandle {self.name} type={self.type} response={self.response_type}>"

    @property
    def responded(self) -> bool:
        """Return whether an initial response was accepted."""
        return self.response_type is not None

    @property
    def deferred(self) -> bool:
        """Return whether the initial response was a defer (type 5 or 6)."""
        return self.response_type in (5, 6)

    @property
    def ephemeral(self) -> bool:
        """Return whether the original response is ephemeral."""
        return self.original is not None and self.original.ephemeral

    @property
    def thinking(self) -> bool:
        """Return whether the deferred "is thinking..." message is still unfilled."""
        return self.original is not None and self.original.loading

    @property
    def messages(self) -> list[Message]:
        """Return the original response (if any) then the separate followup messages."""
        return ([self.original] if self.original else []) + self.followups

    @property
    def violations(self) -> list[Violation]:
        """Return the violations recorded against this interaction."""
        return [v for v in self.fake.violations if v.interaction_id == self.id]

    async def wait_until(
        self, predicate: Callable[[InteractionHandle], Any], timeout: float = 5.0
    ) -> InteractionHandle:
        """Wait until ``predicate(self)`` is truthy."""
        await self.fake.wait_until(lambda: predicate(self), timeout, f"{self.name} to satisfy a condition")
        return self

    async def wait_response(self, timeout: float = 5.0) -> InteractionHandle:
        """Wait for the bot's first callback attempt (accepted or rejected) to reach the fake.

        This returns once the fake has answered, not once the bot has read the answer: to check
        what the bot did with a rejection, wait for the bot's own code to finish as well.
        """
        await self.fake.wait_until(lambda: self.callbacks, timeout, f"a response to {self.name}")
        return self

    async def wait_done(self, timeout: float = 5.0) -> InteractionHandle:
        """Wait until the response is accepted and no longer "thinking"."""
        await self.fake.wait_until(
            lambda: self.responded and not self.thinking, timeout, f"{self.name} to finish"
        )
        return self

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[Message]:
        """Wait for ``count`` separate followup messages."""
        await self.fake.wait_until(
            lambda: len(self.followups) >= count, timeout, f"{count} followups to {self.name}"
        )
        return self.followups
