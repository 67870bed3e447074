"""Typed errors whose messages are written for the person who caused them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


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


LOW_DISK = 64 * 1024 * 1024  # below this much free space, a failed write is put down to the disk


def with_disk_note(error: StoreError, data_dir: Path | None) -> StoreError:
    """Return the error, saying so when the disk under the data directory is (nearly) full."""
    import shutil

    if data_dir is None:
        return error
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError:
        return error
    if free >= LOW_DISK:
        return error
    return StoreError(f"{error} (the disk holding {data_dir} has {free / 2**20:.1f} MB free: it may be full)")
