"""The knowledge bases a service keeps open: least recently used closed first, write locks kept."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class OpenCache(Generic[T]):
    """Up to `capacity` open items by name; opening one more closes the least recently used.

    A closed knowledge base loses only memory (its article list, BM25 index and caches): the
    next use opens it again from the store. Its write lock outlives it, so a writer holding
    the lock of a closed knowledge base still excludes the writers of the reopened one.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: OrderedDict[str, T] = OrderedDict()
        self._write_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.opened = 0
        self.closed = 0

    def get(self, name: str, open_item: Callable[[str], T]) -> T:
        """Return the open item called name, opening it (and closing the oldest) if needed."""
        with self._lock:
            item = self._items.get(name)
            if item is not None:
                self._items.move_to_end(name)
                return item
        opened = open_item(name)  # outside the lock: opening reads the store
        with self._lock:
            item = self._items.get(name)
            if item is None:
                item = self._items[name] = opened
                self.opened += 1
            self._items.move_to_end(name)
            while len(self._items) > self.capacity:
                old, _ = self._items.popitem(last=False)
                self.closed += 1
                log.debug("closed knowledge base %s (%d open)", old, len(self._items))
            return item

    def write_lock(self, name: str) -> threading.Lock:
        """Return the one write lock of a name, whether or not it is open now."""
        with self._lock:
            return self._write_locks.setdefault(name, threading.Lock())

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
