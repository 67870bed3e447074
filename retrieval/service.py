"""The synchronous citebot service: add, ask, list, remove and refresh articles."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from retrieval.answer import ANSWER_DEPTH, Gate, extract_answer
from retrieval.answerability import AnswerabilityCheck, label_for, load_head
from retrieval.chunking import chunk_text
from retrieval.errors import InvalidInput, NotFound
from retrieval.models import AddResult, Answer, ArticleInfo, Citation, Passage, SourceDocument
from retrieval.search import KnowledgeBase
from retrieval.store import ChromaStore, validate_kb_name
from retrieval.text import sentence_spans

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings
    from retrieval.chunking import Chunk
    from retrieval.embedding import Embedder
    from retrieval.fetch import Fetcher
    from retrieval.llm import LLMAnswerer, LLMResult

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
        self,
        settings: Settings,
        embedder: Embedder,
        store: ChromaStore,
        fetcher: Fetcher | None = None,
        llm: LLMAnswerer | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self._fetcher = fetcher
        self.llm = llm
        self._kbs: dict[str, KnowledgeBase] = {}
        self._answerability: AnswerabilityCheck | None = None
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
        return self.add_documents([doc], kb, added_by)[0]

    def add_documents(
        self, docs: Sequence[SourceDocument], kb: str | None = None, added_by: str | None = None
    ) -> list[AddResult]:
        """Store documents, embedding their chunks in shared batches and indexing BM25 once."""
        base = self.kb(kb)
        results: list[AddResult | None] = [None] * len(docs)
        pending: list[_Planned] = []
        # What this call commits is tracked here: reloading the registry after every batch
        # would cost O(articles) each time (see docs/performance.md).
        by_id = dict(base.articles)
        by_hash = {a.content_hash: a for a in by_id.values()}
        # Encoding many short documents one by one wastes most of the model's time on
        # tiny batches; several documents share one call, then are stored together.
        flush_at = 4 * self.settings.embedding.batch_size
        for i, doc in enumerate(docs):
            digest, article_id = content_hash(doc.text), article_id_for(doc)
            if any(p.digest == digest or p.article_id == article_id for p in pending):
                self._commit(base, pending, results, added_by, (by_id, by_hash))
            existing = by_id.get(article_id)
            same = existing if existing and existing.content_hash == digest else None
            if existing is None:
                same = by_hash.get(digest)
            if same is not None:
                results[i] = AddResult(same, "already present")
                continue
            chunks = chunk_text(doc.text, self.settings.chunk.size, self.settings.chunk.overlap)
            pending.append(_Planned(i, doc, digest, article_id, existing, chunks))
            if sum(len(p.chunks) for p in pending) >= flush_at:
                self._commit(base, pending, results, added_by, (by_id, by_hash))
        self._commit(base, pending, results, added_by, (by_id, by_hash))
        base.sync()
        base.lexical()  # rebuild and save the BM25 index once, not once per document
        return [r for r in results if r is not None]

    def _commit(
        self,
        base: KnowledgeBase,
        pending: list[_Planned],
        results: list[AddResult | None],
        added_by: str | None,
        seen: tuple[dict[str, ArticleInfo], dict[str, ArticleInfo]],
    ) -> None:
        """Embed the pending documents' chunks in one call, then store and commit them together."""
        if not pending:
            return
        title = self.settings.chunk.title_in_embedding
        parts = [(f"{p.doc.title}\n" if title else "", c.text) for p in pending for c in p.chunks]
        texts = [prefix + text for prefix, text in parts]
        spans = [
            [(len(prefix) + s, len(prefix) + e) for s, e in sentence_spans(text)] for prefix, text in parts
        ]
        # One forward pass gives the chunk vectors and, pooled per sentence, the answerer's.
        vectors, sentence_vectors = self.embedder.encode_passages(texts, spans)
        offset = 0
        writes: list[tuple[ArticleInfo, _Planned, np.ndarray]] = []
        per_item: list[list[np.ndarray]] = []
        for p in pending:
            doc, existing = p.doc, p.existing
            info = ArticleInfo(
                id=p.article_id,
                title=doc.title,
                source=doc.source,
                url=doc.url,
                author=doc.author,
                date=doc.date,
                added_by=added_by if existing is None else existing.added_by,
                added_at=datetime.now(UTC).isoformat(timespec="seconds")
                if existing is None
                else existing.added_at,
                content_hash=p.digest,
                chunks=len(p.chunks),
                chars=len(doc.text),
            )
            writes.append((info, p, vectors[offset : offset + len(p.chunks)]))
            per_item.append(sentence_vectors[offset : offset + len(p.chunks)])
            offset += len(p.chunks)
        # Chunks first, then every record with the new token in one request, then the old
        # versions' chunks: each article still becomes visible only once its chunks are stored.
        with base.write_lock:
            base.store.put_many([(p.article_id, p.digest[:16], p.chunks, v) for _, p, v in writes], per_item)
            base.store.commit_articles([(info, p.digest[:16], p.doc.text) for info, p, _ in writes])
            for _, p, _ in writes:
                base.store.delete_chunks(p.article_id, keep_version=p.digest[:16])
        for info, p, _ in writes:
            status: Literal["added", "updated"] = "updated" if p.existing else "added"
            log.info("kb %s: %s %s (%d chunks)", base.store.name, status, p.article_id, info.chunks)
            results[p.index] = AddResult(info, status)
            old = seen[1].get(p.existing.content_hash) if p.existing else None
            if old is not None and old.id == info.id:
                del seen[1][old.content_hash]  # the old text is no longer stored
            seen[0][info.id] = seen[1][info.content_hash] = info
        pending.clear()

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

    def seed(self, kb: str | None = None) -> list[AddResult]:
        """Add the shipped seed articles to a knowledge base."""
        return self.add_documents(load_seeds(self.settings), kb, added_by="citebot")

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
        self,
        question: str,
        kb: str | None = None,
        k: int | None = None,
        context: str | None = None,
        *,
        use_llm: bool = True,
        on_draft: Callable[[Answer], None] | None = None,
    ) -> Answer:
        """Answer a question from a knowledge base, with numbered citations.

        With an LLM configured and on_draft given, the answer is streamed: on_draft receives
        the verified sentences so far, at most once per second, before the final answer.
        """
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
        sentence_vectors = (
            base.store.sentence_vectors([p.chunk_id for p in passages[:ANSWER_DEPTH]])
            if vector is not None
            else {}
        )
        got = extract_answer(
            question,
            passages,
            k=k,
            question_vector=vector,
            sentence_vectors=sentence_vectors,
            max_sentences=a.max_sentences,
            gate=Gate(a.min_dense_score, a.min_overlap, a.min_coverage, a.min_sentence_cosine),
            second_ratio=a.second_sentence_ratio,
            context=context,
            judge=self.answerability() if vector is not None else None,
            min_confidence=a.min_confidence,
        )
        text, abstained, cites, answered_by = got.answer, got.abstained, got.citations, "extractive"
        confidence = None if abstained else got.confidence
        t4 = time.perf_counter()
        llm_ms: float | None = None
        if self.llm is not None and use_llm and passages:
            from retrieval.llm import citations

            top = passages[:k]
            if on_draft is None:
                result = self.llm.answer(question, top)
            else:
                draft = partial(Answer, question, abstained=False, articles_searched=len(base.articles))
                result = self._stream_llm(
                    question,
                    top,
                    lambda text, cites, model: on_draft(draft(text, citations=cites, answered_by=model)),
                    interval=self.llm.settings.stream_interval,
                )
            if result.fallback:
                log.info("ask: LLM answer not shown (%s); extractive answer instead", result.reason)
            else:
                text, abstained, answered_by = result.text, False, result.model
                cites = citations(top, result.verdict)
                confidence = None  # the check judged the extractive sentence, not the model's answer
            llm_ms = (time.perf_counter() - t4) * 1000
        t5 = time.perf_counter()
        timings = {
            "embed": (t2 - t1) * 1000,
            "search": (t3 - t2) * 1000,
            "answer": (t4 - t3) * 1000,
            "total": (t5 - t0) * 1000,
        }
        if llm_ms is not None:
            timings["llm"] = llm_ms
        log.info(
            "ask: %d chars, k=%d, %.1f ms, top dense %s, abstained=%s",
            len(question),
            k,
            timings["total"],
            f"{passages[0].dense:.3f}" if passages and passages[0].dense is not None else "-",
            abstained,
        )
        return Answer(
            question,
            text,
            abstained,
            cites,
            timings,
            len(base.articles),
            answered_by=answered_by,
            confidence=confidence,
            label=label_for(confidence, a.sure_confidence),
        )

    def answerability(self) -> AnswerabilityCheck | None:
        """Return the answerability check (loaded once), or None when it is off or cannot run."""
        if not self.settings.answer.answerability or not self.embedder.reads_pairs:
            return None
        with self._kbs_lock:
            if self._answerability is None:
                self._answerability = AnswerabilityCheck(load_head(), self.embedder)
            return self._answerability

    def _stream_llm(
        self,
        question: str,
        passages: list[Passage],
        show: Callable[[str, tuple[Citation, ...], str], None],
        interval: float = 1.0,
    ) -> LLMResult:
        """Stream the LLM's reply, showing only verified complete sentences, at most once per interval."""
        from retrieval.llm import LLMError, LLMResult, citations
        from retrieval.verify import fallback

        if self.llm is None:
            raise RuntimeError("no LLM is configured")
        t0 = time.perf_counter()
        raw, shown, last = "", "", t0
        try:
            for chunk in self.llm.stream(question, passages):
                raw += chunk
                now = time.perf_counter()
                if now - last < interval:
                    continue
                last = now
                spans = sentence_spans(raw)
                complete = raw[: spans[-2][1]] if len(spans) > 1 else ""
                if complete:
                    partial_result = self.llm.check(complete, passages)
                    if not partial_result.fallback and partial_result.text != shown:
                        shown = partial_result.text
                        show(shown, citations(passages, partial_result.verdict), partial_result.model)
        except LLMError as exc:
            log.warning("llm stream: %s", exc)
            return LLMResult("", raw, fallback(str(exc)), self.llm.name, (time.perf_counter() - t0) * 1000)
        return self.llm.check(raw, passages, t0)

    def standalone_question(self, previous: str, follow_up: str) -> tuple[str, str | None]:
        """Return (question, context) for a follow-up: rewritten by the LLM if one is set, else with context."""
        if self.llm is None:
            return follow_up, previous
        rewritten = self.llm.rewrite_follow_up(previous, follow_up)
        log.info("follow-up rewritten (%d -> %d chars)", len(follow_up), len(rewritten))
        return (rewritten, None) if rewritten != follow_up else (follow_up, previous)

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


@dataclass(frozen=True)
class _Planned:
    """A document waiting for its chunks to be embedded."""

    index: int
    doc: SourceDocument
    digest: str
    article_id: str
    existing: ArticleInfo | None
    chunks: list[Chunk]


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
