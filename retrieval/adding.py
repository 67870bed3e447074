"""Adding documents: chunk, embed in shared batches, store chunks, then commit the records."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Literal

from retrieval.chunking import chunk_text, layout_key
from retrieval.errors import StoreError, with_disk_note
from retrieval.models import AddResult, ArticleInfo, SourceDocument
from retrieval.text import sentence_spans

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings
    from retrieval.chunking import Chunk
    from retrieval.embedding import Embedder
    from retrieval.search import KnowledgeBase

log = logging.getLogger(__name__)


def content_hash(text: str) -> str:
    """Return the SHA-256 hex digest of an article's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def version_of(digest: str, layout: str) -> str:
    """Return the version of a text cut one way: the same text cut another way is another version.

    Chunk ids hold the version, and a process holding an article's chunks in memory keeps them while
    the version stays: with the cutting in it, a text stored again with other chunk settings (which
    may give as many chunks, with other bounds) is never mistaken for the chunks held.
    """
    return hashlib.sha256(f"{digest}:{layout}".encode()).hexdigest()[:16]


def article_id_for(doc: SourceDocument) -> str:
    """Return the stable id of a document: from its canonical URL, else its file, else its content."""
    if doc.url:
        from retrieval.ingest import url_key

        return "u" + hashlib.sha256(url_key(doc.url).encode("utf-8")).hexdigest()[:11]
    if doc.key:
        return "f" + hashlib.sha256(doc.key.encode("utf-8")).hexdigest()[:11]
    return "t" + content_hash(doc.text)[:11]


@dataclass(frozen=True)
class _Planned:
    """A document waiting for its chunks to be embedded."""

    index: int
    doc: SourceDocument
    digest: str
    article_id: str
    existing: ArticleInfo | None
    chunks: list[Chunk]
    version: str  # its chunks' ids and its record carry it: see version_of


class Registry:
    """The articles known during one call to add: those stored before, and those it committed."""

    # Tracked here: reloading the registry after every batch would cost O(articles) each time
    # (see docs/performance.md).
    def __init__(self, articles: Mapping[str, ArticleInfo]) -> None:
        self.by_id = dict(articles)
        self.by_hash = {a.content_hash: a for a in self.by_id.values()}

    def lookup(self, article_id: str, digest: str) -> tuple[ArticleInfo | None, ArticleInfo | None]:
        """Return (the article stored under this id, an article with this exact text)."""
        existing = self.by_id.get(article_id)
        if existing is not None:
            return existing, existing if existing.content_hash == digest else None
        return None, self.by_hash.get(digest)

    def file_id(self, doc: SourceDocument) -> str:
        """Return a document's article id; a file added before files had ids of their own keeps its article.

        Such an article is named by its text ("t..."): it is the one, if only one, of that file name.
        """
        article_id = article_id_for(doc)
        if doc.key and article_id not in self.by_id:
            named = [
                a for a in self.by_id.values() if a.id[0] == "t" and not a.url and a.source == doc.source
            ]
            if len(named) == 1:
                return named[0].id
        return article_id

    def record(self, info: ArticleInfo, replaced: ArticleInfo | None) -> None:
        """Note a committed article, forgetting the text it replaced."""
        old = self.by_hash.get(replaced.content_hash) if replaced else None
        if old is not None and old.id == info.id:
            del self.by_hash[old.content_hash]  # the old text is no longer stored
        self.by_id[info.id] = self.by_hash[info.content_hash] = info


class Batch:
    """Documents on their way into one knowledge base: several share each embedding call."""

    def __init__(
        self, base: KnowledgeBase, settings: Settings, embedder: Embedder, added_by: str | None
    ) -> None:
        self.base = base
        self.settings = settings
        self.embedder = embedder
        self.added_by = added_by
        self.registry = Registry(base.articles)
        self.pending: list[_Planned] = []
        self.results: dict[int, AddResult] = {}
        # Encoding many short documents one by one wastes most of the model's time on tiny
        # batches; several documents share one call, then are stored together.
        self.flush_at = 4 * settings.embedding.batch_size

    def add(self, index: int, doc: SourceDocument) -> None:
        """Plan one document, committing what is pending first if it repeats a pending one."""
        digest, article_id = content_hash(doc.text), self.registry.file_id(doc)
        if any(p.digest == digest or p.article_id == article_id for p in self.pending):
            self.flush()
        existing, same = self.registry.lookup(article_id, digest)
        if same is not None:
            self.results[index] = AddResult(same, "already present")
            return
        c = self.settings.chunk
        chunks = chunk_text(doc.text, c.size, c.overlap)
        version = version_of(digest, layout_key(c.size, c.overlap))
        self.pending.append(_Planned(index, doc, digest, article_id, existing, chunks, version))
        if sum(len(p.chunks) for p in self.pending) >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        """Embed the pending documents' chunks in one call, then store and commit them together."""
        if not self.pending:
            return
        vectors, sentences = self._embed()
        infos = [self._info(p) for p in self.pending]
        items, per_item, offset = [], [], 0
        for p in self.pending:
            items.append((p.article_id, p.version, p.chunks, vectors[offset : offset + len(p.chunks)]))
            per_item.append(sentences[offset : offset + len(p.chunks)])
            offset += len(p.chunks)
        # Chunks first, then every record with the new token in one request, then the old
        # versions' chunks: each article still becomes visible only once its chunks are stored.
        store = self.base.store
        with self.base.write_lock:
            store.put_many(items, per_item)
            # The token just before the commit: if it is the one the article list was read at, the
            # list takes this commit as it is, and reading every record again (O(articles)) is saved.
            before = store.token()
            try:
                token = store.commit_articles(
                    [(info, p.version, p.doc.text) for info, p in zip(infos, self.pending, strict=True)]
                )
            except StoreError:
                self._discard_uncommitted()
                raise
            self.base.take_commit(
                before, token, [(info, p.version) for info, p in zip(infos, self.pending, strict=True)]
            )
            store.delete_other_versions({p.article_id: p.version for p in self.pending})
        for info, p in zip(infos, self.pending, strict=True):
            status: Literal["added", "updated"] = "updated" if p.existing else "added"
            log.info("kb %s: %s %s (%d chunks)", store.name, status, p.article_id, info.chunks)
            self.results[p.index] = AddResult(info, status)
            self.registry.record(info, p.existing)
        self.pending.clear()

    def _discard_uncommitted(self) -> None:
        """After a failed commit, delete the chunks just stored of versions that did not become visible."""
        store = self.base.store
        try:
            visible = {aid: version for aid, (_, version) in store.articles().items()}
            store.delete_other_versions(
                {
                    p.article_id: visible.get(p.article_id)
                    for p in self.pending
                    if visible.get(p.article_id) != p.version
                }
            )
        except StoreError as exc:  # the store is failing: they stay, unseen, until the article is added again
            log.warning("kb %s: could not delete the chunks of a failed commit: %s", store.name, exc)

    def _embed(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return the chunk vectors and, pooled per sentence from the same pass, the answerer's."""
        title = self.settings.chunk.title_in_embedding
        parts = [(f"{p.doc.title}\n" if title else "", c.text) for p in self.pending for c in p.chunks]
        texts = [prefix + text for prefix, text in parts]
        spans = [
            [(len(prefix) + s, len(prefix) + e) for s, e in sentence_spans(text)] for prefix, text in parts
        ]
        return self.embedder.encode_passages(texts, spans)

    def _info(self, p: _Planned) -> ArticleInfo:
        existing, doc = p.existing, p.doc
        fetched = doc.fetched_at if doc.url else None  # the time a URL article's new text was seen
        return ArticleInfo(
            id=p.article_id,
            title=doc.title,
            source=doc.source,
            url=doc.url,
            author=doc.author,
            date=doc.date,
            added_by=self.added_by if existing is None else existing.added_by,
            added_at=datetime.now(UTC).isoformat(timespec="seconds")
            if existing is None
            else existing.added_at,
            content_hash=p.digest,
            chunks=len(p.chunks),
            chars=len(doc.text),
            fetched_at=fetched,
            changed_at=fetched,
            etag=doc.etag if fetched else None,
            last_modified=doc.last_modified if fetched else None,
        )


def add_documents(
    base: KnowledgeBase,
    docs: Sequence[SourceDocument],
    settings: Settings,
    embedder: Embedder,
    added_by: str | None,
) -> list[AddResult]:
    """Store documents, embedding their chunks in shared batches and indexing BM25 once."""
    batch = Batch(base, settings, embedder, added_by)
    try:
        for i, doc in enumerate(docs):
            batch.add(i, doc)
        batch.flush()
    except StoreError as exc:  # Chroma's words for a full disk do not say so (a server's is not ours)
        raise with_disk_note(exc, None if settings.chroma.url else settings.data_dir) from exc
    base.sync()
    base.lexical()  # rebuild and save the BM25 index once, not once per document
    return [batch.results[i] for i in sorted(batch.results)]


def load_seeds(settings: Settings) -> list[SourceDocument]:
    """Read the seed articles shipped in the `seeds` package."""
    from retrieval import ingest

    root = resources.files("seeds")
    manifest = json.loads(root.joinpath("manifest.json").read_text(encoding="utf-8"))
    docs = []
    for entry in manifest["articles"]:
        text = root.joinpath(entry["file"]).read_text(encoding="utf-8")
        doc = ingest.from_text(text, entry["title"], settings.limits, source=entry.get("source") or "seed")
        docs.append(replace(doc, url=entry.get("url"), author=entry.get("author"), date=entry.get("date")))
    return docs
