"""Open Chroma's embedded store holding a bounded number of vector indexes in memory.

Chroma keeps every collection's HNSW index it has touched in memory, up to a fifth of the
process's open-file limit (`RustBindingsAPI.hnsw_cache_size`; 4,000 indexes at a limit of
20,000): about 2.8 MB per small collection, so a bot in 1,000 servers (2,000 collections)
grew past 3.5 GB. With the cache bounded, 1,000 collections of 50 vectors held a process at
345 MB (docs/performance.md). An index dropped from the cache is read from disk when next
queried. Chroma takes the bound only from that limit, and accepts no API class of ours, so
the soft limit is lowered while the client starts, then restored.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_FILES_PER_INDEX = 5  # Chroma's own divisor: 4 data files and 1 metadata file per index
_SPARE_FILES = 256


def persistent_client(path: Path, settings: Any, indexes: int) -> Any:
    """Return a PersistentClient at path that caches at most `indexes` HNSW indexes (about)."""
    import chromadb

    try:
        import resource
    except ImportError:  # not on POSIX: Chroma's default
        return chromadb.PersistentClient(path=str(path), settings=settings)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    bound = _FILES_PER_INDEX * max(1, indexes)
    fds = Path("/proc/self/fd")
    in_use = sum(1 for _ in fds.iterdir()) if fds.is_dir() else 0
    if (soft != resource.RLIM_INFINITY and bound >= soft) or in_use + _SPARE_FILES > bound:
        log.debug("chroma index cache left at its default (%s files open, limit %s)", in_use, soft)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    resource.setrlimit(resource.RLIMIT_NOFILE, (bound, hard))
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
