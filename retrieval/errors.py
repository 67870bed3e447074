"""Typed errors whose messages are written for the person who caused them."""

from __future__ import annotations


class CitebotError(Exception):
    """Root of every error citebot reports to a user."""


class FetchError(CitebotError):
    """A URL could not be fetched (network, HTTP status, timeout)."""


class BlockedURL(FetchError):
    """A URL points somewhere citebot refuses to go (scheme, private address)."""


class UnsupportedContent(CitebotError):
    """The content is of a type citebot cannot read."""


class EmptyContent(CitebotError):
    """The source holds no readable text."""


class TooLarge(CitebotError):
    """The input exceeds a configured size cap."""


class InvalidInput(CitebotError):
    """An argument (question, title, name) is not acceptable."""


class NotFound(CitebotError):
    """An article or knowledge base does not exist."""


class PermissionDenied(CitebotError):
    """The caller may not perform this action."""


class RateLimited(CitebotError):
    """The caller must wait before trying again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreError(CitebotError):
    """The vector store failed or is unreachable."""


class Gone(FetchError):
    """A page is no longer there: the server answered 404 Not Found or 410 Gone."""
