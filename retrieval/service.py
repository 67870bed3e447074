"""The synchronous citebot service: add, ask, list, remove and refresh articles."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.answer import extract_answer
from retrieval.chunking import chunk_text
from retrieval.errors import InvalidInput, NotFound
from retrieval.models import AddResult, Answer, ArticleInfo, SourceDocument
from retrieval.search import KnowledgeBase
from retrieval.store import ChromaStore, validate_kb_name

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.embedding import Embedder
    from retrieval.fetch import Fetcher

log = logging.getLogger(__name__)


def content_hash(text: str) -> str:
    """Return the SHA-256 hex digest of an article's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def article_id_for(doc: SourceDocument) -> str:
    """Return the stable id of a document: from its canonical URL, else its content."""
    if doc.url:
        return "u" + hashlib.sha256(doc.url.encode("utf-8")).hexdigest()[:11]
    return "t" + content_hash(doc.text)[:11]


class CitebotService:
    """Everything citebot does, as plain synchronous calls (thread-safe)."""

    def __init__(
        self, settings: Settings, embedder: Embedder, store: ChromaStore, fetcher: Fetcher | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self._fetcher = fetcher
        self._kbs: dict[str, KnowledgeBase] = {}
        self._kbs_lock = threading.Lock()

    # -- knowledge bases ------------------------------------------------------------
    def kb(self, name: str | None = None) -> KnowledgeBase:
        """Return the knowledge base called name (the default one if None), in sync with the store."""
        name = validate_kb_name(self.settings.kb if name is None else name)
        with self._kbs_lock:
            kb = self._kbs.get(name)
            if kb is None:
                kb = KnowledgeBase(self.store.knowledge_base(name, self.embedder.name), self.index_dir(name))
                self._kbs[name] = kb
        kb.sync()
        return kb

    def index_dir(self, name: str) -> Path:
        """Return where the BM25 index of a knowledge base is cached (per store location)."""
        url = self.settings.chroma.url
        where = "local" if not url else "server-" + hashlib.sha256(url.encode()).hexdigest()[:12]
        return self.settings.data_dir / "bm25" / where / name

    @property
    def fetcher(self) -> Fetcher:
        """Return the shared URL fetcher, creating it on first use."""
        if self._fetcher is None:
            from retrieval.fetch import Fetcher

            self._fetcher = Fetcher(self.settings.fetch)
        return self._fetcher

    # -- adding -------------------------------------------------------------------------
    def add_document(
        self, doc: SourceDocument, kb: str | None = None, added_by: str | None = None
    ) -> AddResult:
        """Store one document, or recognise it as already present or changed."""
        base = self.kb(kb)
        digest = content_hash(doc.text)
        article_id = article_id_for(doc)
        existing = base.articles.get(article_id)
        if existing and existing.content_hash == digest:
            return AddResult(existing, "already present")
        if existing is None:
            same = next((a for a in base.articles.values() if a.content_hash == digest), None)
            if same is not None:
                return AddResult(same, "already present")
        chunks = chunk_text(doc.text, self.settings.chunk.size, self.settings.chunk.overlap)
        prefix = f"{doc.title}\n" if self.settings.chunk.title_in_embedding else ""
        vectors = self.embedder.encode([prefix + c.text for c in chunks])
        version = digest[:16]
        info = ArticleInfo(
            id=article_id,
            title=doc.title,
            source=doc.source,
            url=doc.url,
            author=doc.author,
            date=doc.date,
            added_by=added_by if existing is None else existing.added_by,
            added_at=datetime.now(UTC).isoformat(timespec="seconds")
            if existing is None
            else existing.added_at,
            content_hash=digest,
            chunks=len(chunks),
            chars=len(doc.text),
        )
        with base.write_lock:
            base.store.put_chunks(article_id, version, chunks, vectors)
            base.store.commit_article(info, version, doc.text)
            base.store.delete_chunks(article_id, keep_version=version)
        base.sync()
        log.info(
            "kb %s: %s %s (%d chunks)",
            base.store.name,
            "updated" if existing else "added",
            article_id,
            len(chunks),
        )
        return AddResult(info, "updated" if existing else "added")

    def add_source(
        self, source: str, kb: str | None = None, title: str | None = None, added_by: str | None = None
    ) -> AddResult:
        """Fetch or read one source (URL or file path) and store it."""
        from retrieval import ingest

        limits = self.settings.limits
        if ingest.is_url(source):
            doc = ingest.from_url(source, self.fetcher, title, limits)
        else:
            doc = ingest.from_path(Path(source), title, limits)
        return self.add_document(doc, kb, added_by)

    def seed(
        self, kb: str | None = None, progress: Callable[[AddResult], None] | None = None
    ) -> list[AddResult]:
        """Add the shipped seed articles to a knowledge base."""
        results = []
        for doc in load_seeds(self.settings):
            result = self.add_document(doc, kb, added_by="citebot")
            results.append(result)
            if progress:
                progress(result)
        return results

    # -- asking -------------------------------------------------------------------------
    def validate_question(self, question: str) -> str:
        """Return the cleaned question, or raise InvalidInput naming the problem."""
        clean = " ".join(question.split())
        if not clean:
            raise InvalidInput("the question is empty")
        limit = self.settings.limits.max_question_chars
        if len(clean) > limit:
            raise InvalidInput(f"the question is {len(clean)} characters long; the limit is {limit}")
        return clean

    def ask(
        self, question: str, kb: str | None = None, k: int | None = None, context: str | None = None
    ) -> Answer:
        """Answer a question from a knowledge base, with numbered citations."""
        t0 = time.perf_counter()
        question = self.validate_question(question)
        k = k or self.settings.search.k
        if not 1 <= k <= 20:
            raise InvalidInput("k must be between 1 and 20")
        base = self.kb(kb)
        query = f"{context} {question}" if context else question
        t1 = time.perf_counter()
        vector = self.embedder.encode([query])[0] if self.settings.search.mode != "bm25" else None
        t2 = time.perf_counter()
        passages = base.search(query, vector, self.settings.search, k)
        t3 = time.perf_counter()
        a = self.settings.answer
        got = extract_answer(
            question,
            passages,
            k=k,
            max_sentences=a.max_sentences,
            min_dense=a.min_dense_score,
            min_overlap=a.min_overlap,
        )
        t4 = time.perf_counter()
        timings = {
            "embed": (t2 - t1) * 1000,
            "search": (t3 - t2) * 1000,
            "answer": (t4 - t3) * 1000,
            "total": (t4 - t0) * 1000,
        }
        log.info(
            "ask: %d chars, k=%d, %.1f ms, top dense %s, abstained=%s",
            len(question),
            k,
            timings["total"],
            f"{passages[0].dense:.3f}" if passages and passages[0].dense is not None else "-",
            got.abstained,
        )
        return Answer(question, got.answer, got.abstained, got.citations, timings, len(base.articles))

    # -- managing -----------------------------------------------------------------------
    def list_articles(self, kb: str | None = None) -> list[ArticleInfo]:
        """Return the articles of a knowledge base, oldest first."""
        return sorted(self.kb(kb).articles.values(), key=lambda a: (a.added_at, a.title))

    def get_article(self, article_id: str, kb: str | None = None) -> ArticleInfo:
        """Return one article, or raise NotFound."""
        info = self.kb(kb).articles.get(article_id.strip())
        if info is None:
            raise NotFound(f"no article with id {article_id!r} in this knowledge base")
        return info

    def remove(self, article_id: str, kb: str | None = None) -> ArticleInfo:
        """Delete an article and its chunks."""
        base = self.kb(kb)
        info = self.get_article(article_id, kb)
        with base.write_lock:
            base.store.delete_article(info.id)
        base.sync()
        return info

    def refresh(self, article_id: str, kb: str | None = None) -> AddResult:
        """Fetch a URL article again and replace its chunks if the content changed."""
        info = self.get_article(article_id, kb)
        if not info.url:
            raise InvalidInput(f"article {info.id} was not added from a URL, so it cannot be refreshed")
        from retrieval import ingest

        doc = ingest.from_url(info.url, self.fetcher, None, self.settings.limits)
        result = self.add_document(doc, kb)
        if result.status == "already present":
            return replace(result, status="unchanged")
        return result


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
