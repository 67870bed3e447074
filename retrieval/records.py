"""Small JSON records (server settings, feedback, shown answers) kept in Chroma too.

Chroma is the one source of truth, so several bot processes sharing a Chroma server
see the same server settings and feedback.
"""

from __future__ import annotations

import json
import re
from typing import Any

from retrieval.errors import InvalidInput
from retrieval.store import ChromaStore, _chroma_call

_NAMESPACE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


class RecordStore:
    """JSON documents by key in one Chroma collection."""

    def __init__(self, store: ChromaStore, namespace: str) -> None:
        if not _NAMESPACE.match(namespace):
            raise InvalidInput(f"invalid record namespace {namespace!r}")
        self._col = store.collection(f"citebot-records-{namespace}")

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the record stored under key, or None."""
        got = _chroma_call("reading a record", self._col.get, ids=[key], include=["documents"])
        docs = got.get("documents") or []
        return dict(json.loads(docs[0])) if docs and docs[0] else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store value under key, replacing any earlier record."""
        _chroma_call(
            "saving a record",
            self._col.upsert,
            ids=[key],
            embeddings=[[1.0]],
            documents=[json.dumps(value, ensure_ascii=False, sort_keys=True)],
        )

    def all(self) -> dict[str, dict[str, Any]]:
        """Return every record by key."""
        got = _chroma_call("reading records", self._col.get, include=["documents"])
        return {k: json.loads(d) for k, d in zip(got["ids"], got["documents"] or [], strict=False) if d}
