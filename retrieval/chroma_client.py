"""Open the Chroma client: a `chroma run` server, or the embedded store in the data directory.

Memory per knowledge base: Chroma keeps every collection's HNSW index it has touched in memory,
up to a fifth of the process's open-file limit (4,000 indexes at a limit of 20,000), about
2.8 MB per small collection. Bounding that cache (through the open-file limit, the only knob
Chroma 1.5 reads) held 1,000 small collections at 345 MB, but an index evicted before Chroma
had written it to disk (under `hnsw:sync_threshold`, 1,000 records by default) then failed to
load: "Error creating hnsw segment reader: Nothing found on disk". So the cache is left alone;
see docs/performance.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retrieval.errors import StoreError

if TYPE_CHECKING:
    from config.settings import Settings


def open_client(settings: Settings) -> Any:
    """Return a client for the configured Chroma server, or for the embedded store in the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    chroma_settings = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)
    url = settings.chroma.url
    if url:
        return _http_client(url, chroma_settings)
    path = settings.data_dir / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
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
