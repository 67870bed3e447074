"""Tell cheaply that an embedded store has not changed: its database files' stat is as it was.

Every ask reads the knowledge base's change token from Chroma (about 1 ms) to notice writes by
other processes. An embedded store keeps that token in its SQLite database, and every committed
write changes the database file (or its write-ahead log), so while the files' size, times and
inode are those seen at the last read, the token is too. A mark is trusted only once the files
have been quiet for a while: a file's times have a coarse clock, and a write in the same tick as
the one seen could otherwise leave them unchanged. That tick is at most 10 ms on Linux (the
kernel's coarse clock); a file system that keeps whole seconds is given 2 s.

This process's own writes to the same database (the bot's answer records) change the files too:
`Marks.retake` reads the tokens again once such a write is quiet, off any ask's path, so the next
ask can trust the files. A token read then is a token read like any other (its mark taken before
it), so another process's write is never missed.

Local file systems only: on NFS and other network file systems attribute caching and clock skew
can hide or delay a change (SQLite does not support them either).
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable
from pathlib import Path

QUIET_NS = 100_000_000  # files changed less than 0.1 s ago are not trusted
QUIET_WHOLE_SECONDS_NS = 2_000_000_000  # the same on a file system that keeps whole seconds


def store_mark(db_file: Path | None) -> tuple[int, ...] | None:
    """Return the stat of a store's database files, or None if unknown or changed too recently."""
    if db_file is None:
        return None
    mark: list[int] = []
    now = time.time_ns()
    for n, path in enumerate((str(db_file), f"{db_file}-wal")):
        try:
            st = os.stat(path)  # noqa: PTH116 - once per ask: no Path objects
        except FileNotFoundError:
            if n == 0:  # not where this Chroma keeps its database: never trusted
                return None
            mark += [0, 0, 0, 0]
            continue
        except OSError:
            return None
        changed = max(st.st_mtime_ns, st.st_ctime_ns)
        whole_seconds = changed % 1_000_000_000 == 0
        if now - changed < (QUIET_WHOLE_SECONDS_NS if whole_seconds else QUIET_NS):
            return None
        mark += [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    return tuple(mark)


class SeenToken:
    """A store's change token as last read, with the mark its files had just before that read."""

    def __init__(self, db_file: Path | None, read: Callable[[], str]) -> None:
        self._db = db_file
        self._read = read
        self._seen: tuple[tuple[int, ...] | None, str] = (None, "")
        self.asked = False  # got since the last retake: worth taking again

    def get(self) -> str:
        """Return the token: the one seen if the files are unchanged since, else read it."""
        self.asked = True
        mark = store_mark(self._db)  # before the read: a write after it changes the files
        seen_mark, seen = self._seen
        if mark is not None and mark == seen_mark:
            return seen
        token = self._read()
        self._seen = (mark, token)
        return token

    def retake(self) -> None:
        """Read the token again if the files changed and are quiet now, so the next `get` trusts them."""
        mark = store_mark(self._db)
        if mark is not None and mark != self._seen[0]:
            self._seen = (mark, self._read())


class Marks:
    """The tokens of one store's knowledge bases open in this process."""

    def __init__(self) -> None:
        self._open: weakref.WeakSet[SeenToken] = weakref.WeakSet()

    def watch(self, db_file: Path | None, read: Callable[[], str]) -> SeenToken:
        """Return a knowledge base's token, to be taken again by `retake`."""
        seen = SeenToken(db_file, read)
        self._open.add(seen)
        return seen

    def retake(self) -> None:
        """Take again the tokens got since the last retake, after this process wrote the store.

        Only those: a bot may hold hundreds of knowledge bases open, and the one asked is the one
        likely to be asked next (the others read their token once at their next ask).
        """
        for seen in list(self._open):
            if seen.asked:
                seen.asked = False
                seen.retake()
