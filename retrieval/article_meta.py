"""An article's registry record in Chroma: its metadata, written and read back."""

from __future__ import annotations

from typing import Any

from retrieval.models import ArticleInfo

_INFO_FIELDS = ("title", "source", "url", "author", "date", "added_by", "added_at")
_FRESH_FIELDS = ("fetched_at", "changed_at", "etag", "last_modified")  # ArticleInfo.freshness()


def record_meta(info: ArticleInfo, version: str) -> dict[str, Any]:
    """Return the registry metadata of an article version (None deletes a key an upsert would keep)."""
    meta: dict[str, Any] = {k: getattr(info, k) for k in _INFO_FIELDS} | info.freshness()
    meta.update(content_hash=info.content_hash, chunks=info.chunks, chars=info.chars, version=version)
    return meta


def info_from(record_id: str, meta: dict[str, Any]) -> ArticleInfo:
    """Return the article a registry record describes."""
    values = {key: meta.get(key) for key in _INFO_FIELDS}
    return ArticleInfo(
        id=record_id,
        title=str(values["title"] or record_id),
        source=str(values["source"] or ""),
        url=values["url"],
        author=values["author"],
        date=values["date"],
        added_by=values["added_by"],
        added_at=str(values["added_at"] or ""),
        content_hash=str(meta.get("content_hash", "")),
        chunks=int(meta.get("chunks", 0)),
        chars=int(meta.get("chars", 0)),
        **{key: str(meta[key]) for key in _FRESH_FIELDS if meta.get(key)},
        vanished=int(meta.get("vanished") or 0),
    )
