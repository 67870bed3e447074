"""Chroma storage: one chunk collection and one article registry per knowledge base.

An article becomes visible only when its registry record names the version its chunks
carry: chunks are written first, the record last, so an interrupted add or a refresh
in progress is never half-visible, and re-running it completes it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.article_meta import info_from, record_meta
from retrieval.errors import InvalidInput, StoreError
from retrieval.models import ArticleInfo
from retrieval.storemark import Marks
from retrieval.vectors import SENTENCE_VECTORS, pack_vectors

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings
    from retrieval.chunking import Chunk

log = logging.getLogger(__name__)

KB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
STATE_ID = "__state__"


def validate_kb_name(name: str) -> str:
    """Return name if it is a valid knowledge-base name, else raise InvalidInput."""
    if not KB_NAME.match(name):
        raise InvalidInput(
            f"invalid knowledge base name {name!r}: use 1-48 lower-case letters, digits, - or _"
        )
    return name


@dataclass(frozen=True, slots=True)  # slots: 100,000 of these live in the BM25 index
class StoredChunk:
    """A chunk as read back from Chroma."""

    id: str
    article_id: str
    version: str
    start: int
    end: int
    text: str
    dense: float | None = None
    sentences: str | None = None  # packed sentence vectors; only on chunks read with a query
    vector: np.ndarray | None = None  # the stored embedding, only on chunks read with it


def _chroma_call(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"the vector store failed while {what}: {exc}") from exc


class ChromaStore:
    """A Chroma client (embedded or server) holding any number of knowledge bases."""

    def __init__(self, client: Any, batch_size: int = 1000, db_file: Path | None = None) -> None:
        self._client = client
        self._db_file = db_file  # the embedded store's database (None for a server)
        self.marks = Marks()  # its knowledge bases' change tokens, taken again after own writes
        self._batch = min(batch_size, int(getattr(client, "get_max_batch_size", lambda: batch_size)()))

    @classmethod
    def from_settings(cls, settings: Settings) -> ChromaStore:
        """Open the embedded store under the data directory, or the configured server."""
        from retrieval.chroma_client import open_client

        db_file = None if settings.chroma.url else settings.data_dir / "chroma" / "chroma.sqlite3"
        return cls(open_client(settings), settings.chroma.batch_size, db_file)

    def knowledge_base(self, name: str, model: str) -> KBStore:
        """Open (creating if needed) the collections of one knowledge base."""
        validate_kb_name(name)
        from retrieval.chroma_client import chunk_configuration, chunk_metadata, keep_reloadable

        chunks = _chroma_call(
            "opening the knowledge base",
            self._client.get_or_create_collection,
            f"citebot-{name}-chunks",
            metadata=chunk_metadata(model),
            configuration=chunk_configuration(),
            embedding_function=None,
        )
        stored_model = (chunks.metadata or {}).get("embedding_model")
        if stored_model and stored_model != model:
            raise StoreError(
                f"knowledge base {name!r} was built with the model {stored_model!r}, not "
                f"{model!r}; set CITEBOT_EMBEDDING__MODEL back or use another knowledge base"
            )
        _chroma_call("opening the knowledge base", keep_reloadable, chunks)
        articles = _chroma_call(
            "opening the knowledge base",
            self._client.get_or_create_collection,
            f"citebot-{name}-articles",
            metadata={"hnsw:space": "cosine"},
            embedding_function=None,
        )
        return KBStore(name, chunks, articles, self._batch, db=self._db_file, marks=self.marks)

    def collection(self, name: str) -> Any:
        """Open (creating if needed) a plain collection that holds no text vectors."""
        return _chroma_call(
            "opening a collection",
            self._client.get_or_create_collection,
            name,
            metadata={"hnsw:space": "cosine"},
            embedding_function=None,
        )

    def knowledge_bases(self) -> list[str]:
        """Return the names of the knowledge bases in this store."""
        names = _chroma_call("listing collections", self._client.list_collections)
        found = []
        for col in names:
            name = col if isinstance(col, str) else col.name
            if name.startswith("citebot-") and name.endswith("-articles"):
                found.append(name[len("citebot-") : -len("-articles")])
        return sorted(found)

    def drop_knowledge_base(self, name: str) -> None:
        """Delete both collections of a knowledge base."""
        validate_kb_name(name)
        for suffix in ("chunks", "articles"):
            try:
                self._client.delete_collection(f"citebot-{name}-{suffix}")
            except Exception:  # noqa: BLE001, S112 - already absent is fine
                continue


class KBStore:
    """The two Chroma collections of one knowledge base."""

    def __init__(
        self, name: str, chunks: Any, articles: Any, batch: int, *, db: Path | None, marks: Marks
    ) -> None:
        self.name = name
        self._token = marks.watch(db, self._read_token)
        self._chunks = chunks
        self._articles = articles
        self._batch = batch

    def token(self) -> str:
        """Return the change token (it differs after every commit); unread if the files are unchanged."""
        return self._token.get()

    def _read_token(self) -> str:
        got = _chroma_call("reading the state", self._articles.get, ids=[STATE_ID], include=["metadatas"])
        metas = got.get("metadatas") or []
        return str(metas[0].get("token")) if metas and metas[0] else ""

    def _bump(self) -> None:
        _chroma_call(
            "saving the state",
            self._articles.upsert,
            ids=[STATE_ID],
            embeddings=[[1.0]],
            metadatas=[{"token": uuid.uuid4().hex}],
            documents=[""],
        )

    def articles(self, page: int = 2000) -> dict[str, tuple[ArticleInfo, str]]:
        """Return every committed article with its visible version."""
        # Paged: one unbounded get of 12,000 records raises the process's resident memory by
        # ~240 MB for good, pages of 2,000 by ~55 MB. A write between pages can tear the read,
        # but it also changes the token, so the caller's next sync reads the registry again.
        found: dict[str, tuple[ArticleInfo, str]] = {}
        offset = 0
        while True:
            got = _chroma_call(
                "listing articles", self._articles.get, include=["metadatas"], limit=page, offset=offset
            )
            for record_id, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                if record_id != STATE_ID and meta:
                    found[record_id] = (info_from(record_id, meta), str(meta.get("version", "")))
            if len(got["ids"]) < page:
                return found
            offset += page

    def article_text(self, article_id: str) -> str | None:
        """Return the full text of a committed article, or None."""
        got = _chroma_call("reading an article", self._articles.get, ids=[article_id], include=["documents"])
        docs = got.get("documents") or []
        return str(docs[0]) if docs else None

    def put_many(
        self,
        items: Sequence[tuple[str, str, Sequence[Chunk], np.ndarray]],
        sentences: Sequence[Sequence[np.ndarray]] | None = None,
    ) -> None:
        """Write the chunks of several article versions, in as few requests as the batch size allows.

        sentences, when given, holds per item and per chunk the vectors of the chunk's sentences
        (in `sentence_spans` order); they are stored with the chunk, in its metadata.
        """
        # Each embedded Chroma write costs ~50 ms whatever its size: batching across articles
        # is what makes bulk ingestion fast (see docs/performance.md).
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        texts: list[str] = []
        vectors: list[np.ndarray] = []
        for n, (article_id, version, chunks, vecs) in enumerate(items):
            ids += [chunk_id(article_id, version, c.index) for c in chunks]
            for i, c in enumerate(chunks):
                meta: dict[str, Any] = {
                    "article_id": article_id,
                    "version": version,
                    "idx": c.index,
                    "start": c.start,
                    "end": c.end,
                }
                if sentences is not None:
                    meta[SENTENCE_VECTORS] = pack_vectors(sentences[n][i])
                metas.append(meta)
            texts += [c.text for c in chunks]
            vectors.append(vecs)
        if not ids:
            return
        import numpy as np

        matrix = np.concatenate(vectors)
        what = items[0][0] if len(items) == 1 else f"{len(items)} articles"
        for lo in range(0, len(ids), self._batch):
            hi = lo + self._batch
            _chroma_call(
                "storing chunks",
                self._chunks.upsert,
                ids=ids[lo:hi],
                embeddings=matrix[lo:hi],
                metadatas=metas[lo:hi],
                documents=texts[lo:hi],
            )
            log.debug("stored chunks %d-%d of %d for %s", lo, min(hi, len(ids)), len(ids), what)

    def commit_articles(self, items: Sequence[tuple[ArticleInfo, str, str]]) -> str:
        """Make the given versions visible and change the token, in one write per batch; return it."""
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        texts: list[str] = []
        for info, version, text in items:
            ids.append(info.id)
            metas.append(record_meta(info, version))
            texts.append(text)
        # The new token travels in the last request, with the records, not in a request of its own.
        token = uuid.uuid4().hex
        ids.append(STATE_ID)
        metas.append({"token": token})
        texts.append("")
        for lo in range(0, len(ids), self._batch):
            hi = lo + self._batch
            _chroma_call(
                "saving articles",
                self._articles.upsert,
                ids=ids[lo:hi],
                embeddings=[[1.0]] * len(ids[lo:hi]),
                metadatas=metas[lo:hi],
                documents=texts[lo:hi],
            )
        return token

    def touch_articles(self, infos: Sequence[ArticleInfo]) -> None:
        """Save the freshness of articles whose text did not change, and change the token, in one write."""
        # An update merges metadata (None deletes a key): text, chunks and version stay as they are.
        ids = [info.id for info in infos] + [STATE_ID]
        metas = [info.freshness() for info in infos] + [{"token": uuid.uuid4().hex}]
        for lo in range(0, len(ids), self._batch):
            hi = lo + self._batch
            _chroma_call("saving articles", self._articles.update, ids=ids[lo:hi], metadatas=metas[lo:hi])

    def delete_article(self, article_id: str) -> None:
        """Hide an article at once, then delete its chunks."""
        _chroma_call("removing an article", self._articles.delete, ids=[article_id])
        self._bump()
        self.delete_other_versions({article_id: None})

    def delete_other_versions(self, keep: Mapping[str, str | None]) -> None:
        """Delete the chunks of several articles but the version kept of each, in one write (None: all)."""
        parts: list[dict[str, Any]] = [
            {"article_id": a} if v is None else {"$and": [{"article_id": a}, {"version": {"$ne": v}}]}
            for a, v in keep.items()
        ]
        if parts:  # each write to the index is one write to disk (chroma_client.py): one, not one an article
            where = parts[0] if len(parts) == 1 else {"$or": parts}
            _chroma_call("deleting chunks", self._chunks.delete, where=where)

    def query_ids(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """Return up to n nearest chunk ids (any version) with cosine similarity, nothing else.

        A fifth of the time of a query that also reads texts and metadata (1.3 against 5.1 ms at
        10,000 chunks): those are read by `chunks_by_id` for the few chunks an answer shows.
        """
        if n <= 0:
            return []
        got = _chroma_call(
            "searching", self._chunks.query, query_embeddings=[vector], n_results=n, include=["distances"]
        )
        return [
            (cid, 1.0 - float(dist)) for cid, dist in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def chunks_by_id(self, ids: Sequence[str], vectors: bool = False) -> dict[str, StoredChunk]:
        """Return the stored chunks with the given ids, sentence vectors included (absent ones left out).

        vectors: with their embeddings too.
        """
        if not ids:
            return {}
        include = _include(vectors)
        got = _chroma_call("reading chunks", self._chunks.get, ids=list(ids), include=include)
        return {c.id: c for c in _chunks_in(got, sentences=True)}

    def embeddings(
        self, ids: Sequence[str], include_sentences: bool = False
    ) -> dict[str, tuple[np.ndarray, str | None]]:
        """Return the stored vector of each chunk id, with its packed sentence vectors if asked."""
        if not ids:
            return {}
        include = ["embeddings", "metadatas"] if include_sentences else ["embeddings"]
        got = _chroma_call("reading vectors", self._chunks.get, ids=list(ids), include=include)
        metas = got.get("metadatas") if include_sentences else None
        out = {}
        for n, (cid, emb) in enumerate(zip(got["ids"], got["embeddings"], strict=True)):
            blob = (metas[n] or {}).get(SENTENCE_VECTORS) if metas else None
            out[cid] = (emb, blob if isinstance(blob, str) else None)
        return out

    def iter_chunks(self, page: int = 5000, vectors: bool = False) -> Iterator[StoredChunk]:
        """Yield every stored chunk (all versions), page by page (vectors: with embeddings, sentence vectors)."""
        offset = 0
        include = _include(vectors)
        while True:
            got = _chroma_call("reading chunks", self._chunks.get, include=include, limit=page, offset=offset)
            yield from _chunks_in(got, sentences=vectors)
            if len(got["ids"]) < page:
                return
            offset += page

    def chunks_of(self, article_ids: Sequence[str], vectors: bool = False) -> list[StoredChunk]:
        """Return the stored chunks (all versions) of some articles (vectors: with embeddings, sentence vectors)."""
        if not article_ids:
            return []
        where = {"article_id": {"$in": list(article_ids)}}
        got = _chroma_call("reading chunks", self._chunks.get, where=where, include=_include(vectors))
        return _chunks_in(got, sentences=vectors)

    def count_chunks(self) -> int:
        """Return how many chunks are stored, all versions included."""
        return int(_chroma_call("counting chunks", self._chunks.count))


def chunk_id(article_id: str, version: str, index: int) -> str:
    """Return the deterministic id of one chunk of one article version."""
    return f"{article_id}:{version}:{index}"


def _include(vectors: bool) -> list[str]:
    """Return what a read of chunks includes: their metadata and text, and their embeddings if asked."""
    return ["metadatas", "documents", *(["embeddings"] if vectors else [])]


def _chunks_in(got: dict[str, Any], sentences: bool = False) -> list[StoredChunk]:
    """Return the chunks of a get's result, with their embeddings if it read them."""
    embeddings = got.get("embeddings")
    if embeddings is None:
        embeddings = [None] * len(got["ids"])
    rows = zip(got["ids"], got["metadatas"], got["documents"], embeddings, strict=True)
    return [_stored(cid, meta, doc, sentences, vec) for cid, meta, doc, vec in rows]


def _stored(
    cid: str, meta: dict[str, Any], doc: str, with_sentences: bool = False, vector: np.ndarray | None = None
) -> StoredChunk:
    blob = meta.get(SENTENCE_VECTORS) if with_sentences else None
    return StoredChunk(
        id=cid,
        article_id=str(meta["article_id"]),
        version=str(meta["version"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=doc,
        sentences=blob if isinstance(blob, str) else None,
        vector=vector,
    )
