"""Tell cheaply that an embedded store has not changed: its database files' stat is as it was.

Every ask reads the knowledge base's change token from Chroma (about 1 ms) to notice writes by
other processes. An embedded store keeps that token in its SQLite database, and every committed
write changes the database file (or its write-ahead log), so while the files' size, times and
inode are those seen at the last read, the token is too. A mark is trusted only once the files
have been quiet for a while: a file's times have a coarse clock, and a write in the same tick as
the one seen could otherwise leave them unchanged. That tick is at most 10 ms on Linux (the
kernel's coarse clock); a file system that keeps whole seconds is given 2 s.
"""

from __future__ import annotations

import os
import time
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

    def __init__(self, db_file: Path | None) -> None:
        self._db = db_file
        self._seen: tuple[tuple[int, ...] | None, str] = (None, "")

    def get(self, read: Callable[[], str]) -> str:
        """Return the token: the one seen if the files are unchanged since, else read()."""
        mark = store_mark(self._db)  # before the read: a write after it changes the files
        seen_mark, seen = self._seen
        if mark is not None and mark == seen_mark:
            return seen
        token = read()
        self._seen = (mark, token)
        return token
