"""Open the Chroma client: a server, or the embedded store with a bounded index cache.

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
from typing import TYPE_CHECKING, Any

from retrieval.errors import StoreError

if TYPE_CHECKING:
    from config.settings import Settings

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


def open_client(settings: Settings) -> Any:
    """Return a client for the configured Chroma server, or for the embedded store in the data dir."""
    from chromadb.config import Settings as ChromaClientSettings

    chroma_settings = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)
    url = settings.chroma.url
    if url:
        return _http_client(url, chroma_settings)
    path = settings.data_dir / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Two collections per open knowledge base; Chroma would keep thousands of indexes.
        return persistent_client(path, chroma_settings, 2 * settings.open_kbs + 8)
    except Exception as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from exc


def _http_client(url: str, chroma_settings: Any) -> Any:
    from urllib.parse import urlsplit

    import chromadb

    parts = urlsplit(url)
    try:
        client = chromadb.HttpClient(
            host=parts.hostname or "localhost",
            port=parts.port or (443 if parts.scheme == "https" else 8000),
            ssl=parts.scheme == "https",
            settings=chroma_settings,
        )
        client.heartbeat()
    except Exception as exc:
        raise StoreError(f"cannot reach the Chroma server at {url} (CITEBOT_CHROMA__URL): {exc}") from exc
    return client
