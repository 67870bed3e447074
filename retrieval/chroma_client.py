"""Open the Chroma client: a `chroma run` server, or the embedded store in the data directory.

Memory per knowledge base: Chroma keeps the HNSW index of every collection it has read or
written in memory, about 2.8 MB per small collection, up to a cache of `hnsw_cache_size`
indexes (by default a fifth of the open-file limit: 4,000 here). The embedded store here is
opened with that cache bounded by `chroma.hnsw_cache`. An index Chroma evicts is read back from
disk on its next use, complete only if Chroma wrote every change to disk before: store.py
keeps chunk collections so (see `keep_reloadable` below).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.errors import StoreError

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)
_OPENING = threading.Lock()


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
        return _embedded_client(path, chroma_settings, settings.chroma.hnsw_cache)
    except Exception as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from exc


def _embedded_client(path: Path, chroma_settings: Any, cache: int) -> Any:
    """Open the embedded store with at most `cache` HNSW indexes in memory.

    Chroma 1.5 takes the cache size from the open-file limit only, read when its Rust bindings
    start; setting it on the API object before the system starts bounds it without touching the
    process's limits. A store already open in this process is shared, with the cache it has.
    """
    import chromadb
    from chromadb.api import ServerAPI
    from chromadb.api.client import Client
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import System
    from chromadb.telemetry.product import ProductTelemetryClient

    chroma_settings.persist_directory = str(path)
    chroma_settings.is_persistent = True
    with _OPENING:
        if str(path) in SharedSystemClient._identifier_to_system:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        system = System(chroma_settings)
        system.instance(ProductTelemetryClient)  # type: ignore[type-abstract]
        api = system.instance(ServerAPI)  # type: ignore[type-abstract]
        if hasattr(api, "hnsw_cache_size"):
            api.hnsw_cache_size = cache
        else:  # another Chroma: its own default applies
            log.warning("this Chroma has no HNSW cache size to set; chroma.hnsw_cache is ignored")
        system.start()
        return Client.from_system(system)


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


# Chroma writes an HNSW index to disk after `sync_threshold` changes (1,000 by default) and keeps
# the changes since in memory only. An index evicted from its cache is read back from disk, and
# Chroma 1.5 replays its log into it at the collection's first read in a process and at writes,
# not at later reads: after an eviction, reads miss the changes that were not on disk until the
# next write to the collection (reads with vectors fail, "Error finding id"; searches miss those
# chunks; a deleted chunk is found again). An index never written to disk cannot be
# read back at all ("Nothing found on disk"). So chunk collections use a threshold of 1: every
# write is on disk before Chroma returns, and an evicted index reads back whole. Chroma accepts 1
# in a collection's configuration only (its metadata form starts at 2). A loaded index keeps the
# threshold it was loaded with: a collection made before is given 1 before anything reads it.
SYNC = 1


def chunk_metadata(model: str) -> dict[str, Any]:
    """Return the metadata a new chunk collection is created with."""
    return {"hnsw:space": "cosine", "embedding_model": model}


def chunk_configuration() -> dict[str, Any]:
    """Return the configuration a new chunk collection is created with (an existing one keeps its own)."""
    return {"hnsw": {"space": "cosine", "sync_threshold": SYNC}}


def _threshold(collection: Any) -> int | None:
    hnsw = (collection.configuration or {}).get("hnsw") or {}
    value = hnsw.get("sync_threshold")
    return int(value) if value is not None else None


def _modify(collection: Any, **change: Any) -> None:
    """Change a collection's settings; retry while Chroma's own database is briefly locked."""
    # Seen once in tests under heavy load: "(code: 5) database is locked" from a change of
    # settings while Chroma's background work held its SQLite database.
    for attempt in range(5):
        try:
            collection.modify(**change)
            return
        except Exception as exc:
            if "database is locked" not in str(exc) or attempt == 4:
                raise
            time.sleep(0.1 * (attempt + 1))


def keep_reloadable(collection: Any) -> None:
    """Put a chunk collection on the threshold of 1, with every change it holds written to disk.

    A collection made before (on 2, 1,000 or Chroma's default) may hold changes that are in
    Chroma's log but not in its index on disk, lost from memory by an eviction: count() is the
    first read of the collection in this process, so Chroma replays its log into the index, which
    the threshold of 1 then writes to disk.
    """
    if _threshold(collection) == SYNC:
        return  # no count(): it would load the index
    _modify(collection, configuration={"hnsw": {"sync_threshold": SYNC}})  # before count() loads it
    collection.count()
    log.info("collection %s: HNSW sync threshold %d, index written to disk", collection.name, SYNC)
