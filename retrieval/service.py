"""The synchronous citebot service: add, ask, list, remove and refresh articles."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from config.settings import MAX_K
from retrieval.adding import add_documents, load_seeds
from retrieval.answer import Gate, extract_answer
from retrieval.answerability import AnswerabilityCheck, label_for, load_head
from retrieval.asking import Query, Retrieval, clean_question
from retrieval.errors import CitebotError, FetchError, Gone, InvalidInput, NotFound
from retrieval.kbcache import OpenCache
from retrieval.models import AddResult, Answer, ArticleInfo, Citation, FetchOutcome, SourceDocument
from retrieval.search import KnowledgeBase
from retrieval.store import ChromaStore, validate_kb_name

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings
    from retrieval.embedding import Embedder
    from retrieval.fetch import Fetcher
    from retrieval.llm import LLMAnswerer

log = logging.getLogger(__name__)


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
        self._kbs: OpenCache[KnowledgeBase] = OpenCache(settings.open_kbs)
        self._answerability: AnswerabilityCheck | None = None
        self._answerability_lock = threading.Lock()

    # -- knowledge bases ------------------------------------------------------------
    def kb(self, name: str | None = None) -> KnowledgeBase:
        """Return the knowledge base called name (the default one if None), in sync with the store."""
        name = validate_kb_name(self.settings.kb if name is None else name)
        kb = self._kbs.get(name, self._open_kb)
        kb.sync()
        return kb

    def _open_kb(self, name: str) -> KnowledgeBase:
        store = self.store.knowledge_base(name, self.embedder.name)
        # The chunk embeddings depend on the model, its backend and whether titles are embedded.
        embedder = (
            f"{type(self.embedder).__name__}:{self.embedder.name}:{self.settings.chunk.title_in_embedding}"
        )
        exact = self.settings.search.exact_max_chunks
        return KnowledgeBase(store, self.index_dir(name), self._kbs.write_lock(name), embedder, exact)

    def index_dir(self, name: str) -> Path:
        """Return where the BM25 index of a knowledge base is cached (per store location)."""
        url = self.settings.chroma.url
        where = "local" if not url else "server-" + hashlib.sha256(url.encode()).hexdigest()[:12]
        return self.settings.data_dir / "bm25" / where / name

    @property
    def has_llm(self) -> bool:
        """Tell whether answers may be written by an LLM."""
        return self.llm is not None

    def close(self) -> None:
        """Release what the service opened: the fetcher's connections and the LLM's threads."""
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None
        if self.llm is not None:
            self.llm.close()

    def __enter__(self) -> CitebotService:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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
        return add_documents(self.kb(kb), docs, self.settings, self.embedder, added_by)

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
        return clean_question(question, self.settings.limits.max_question_chars)

    def prepare(
        self, question: str, kb: str | None = None, k: int | None = None, context: str | None = None
    ) -> Query:
        """Validate a question and start its stopwatch (the first stage of an ask)."""
        query = Query(self.validate_question(question), "", k or self.settings.search.k, self.kb(kb))
        if not 1 <= query.k <= MAX_K:
            raise InvalidInput(f"k must be between 1 and {MAX_K}")
        text = f"{context} {query.question}" if context else query.question
        return replace(query, text=text, context=context)

    def embed(self, query: Query) -> np.ndarray | None:
        """Embed the query's text (None in BM25-only mode)."""
        with query.clock.lap("embed"):
            if self.settings.search.mode == "bm25":
                return None
            vector: np.ndarray = self.embedder.encode([query.text])[0]
            return vector

    def retrieve(self, query: Query, vector: np.ndarray | None) -> Retrieval:
        """Find the query's best passages, with their sentence vectors."""
        with query.clock.lap("search"):
            hits = query.kb.search(query.text, vector, self.settings.search, query.k)
        return Retrieval(query, vector, hits.passages, hits.sentence_vectors, len(query.kb.articles))

    def extract(self, found: Retrieval) -> Answer:
        """Answer with the passages' own sentences, or abstain."""
        a = self.settings.answer
        with found.query.clock.lap("answer"):
            got = extract_answer(
                found.query.question,
                found.passages,
                k=found.query.k,
                question_vector=found.vector,
                sentence_vectors=found.sentence_vectors,
                max_sentences=a.max_sentences,
                gate=Gate(a.min_dense_score, a.min_overlap, a.min_coverage, a.min_sentence_cosine),
                second_ratio=a.second_sentence_ratio,
                context=found.query.context,
                judge=self.answerability() if found.vector is not None else None,
                min_confidence=a.min_confidence,
            )
        confidence = None if got.abstained else got.confidence
        return Answer(
            found.query.question,
            got.answer,
            got.abstained,
            got.citations,
            {},
            found.articles_searched,
            confidence=confidence,
            label=label_for(confidence, a.sure_confidence),
        )

    def answerability(self) -> AnswerabilityCheck | None:
        """Return the answerability check (loaded once), or None when it is off or cannot run."""
        if not self.settings.answer.answerability or not self.embedder.reads_pairs:
            return None
        with self._answerability_lock:
            if self._answerability is None:
                self._answerability = AnswerabilityCheck(load_head(), self.embedder)
            return self._answerability

    def compose(
        self, found: Retrieval, extractive: Answer, on_draft: Callable[[Answer], None] | None = None
    ) -> Answer:
        """Answer with the LLM from the passages, verified; the extractive answer if it falls back.

        With on_draft given, the answer is streamed: on_draft receives the verified sentences so
        far, at most once per stream_interval, before the final answer.
        """
        if self.llm is None or not found.passages:
            return extractive
        from retrieval.llm import citations

        top, question = found.passages[: found.query.k], found.query.question

        def show(text: str, cites: tuple[Citation, ...], model: str) -> None:
            if on_draft is not None:
                on_draft(Answer(question, text, False, cites, {}, found.articles_searched, model))

        with found.query.clock.lap("llm"):
            if on_draft is None:
                result = self.llm.answer(question, top)
            else:
                result = self.llm.answer_streaming(question, top, show)
        if result.fallback:
            log.info("ask: LLM answer not shown (%s); extractive answer instead", result.reason)
            return extractive
        return replace(
            extractive,
            answer=result.text,
            abstained=False,
            citations=citations(top, result.verdict),
            answered_by=result.model,
            confidence=None,  # the check judged the extractive sentence, not the model's answer
            label=None,
        )

    def finish(self, found: Retrieval, answer: Answer) -> Answer:
        """Stamp an answer with its stage timings and log the ask (the last stage)."""
        timings = found.query.clock.timings()
        top = found.passages[0].dense if found.passages else None
        log.info(
            "ask: %d chars, k=%d, %.1f ms, top dense %s, abstained=%s",
            len(found.query.question),
            found.query.k,
            timings["total"],
            "-" if top is None else f"{top:.3f}",
            answer.abstained,
        )
        return replace(answer, timings_ms=timings, citations=with_fetched(answer.citations, found.query.kb))

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
        """Answer a question from a knowledge base, with numbered citations (every stage in turn)."""
        query = self.prepare(question, kb, k, context)
        found = self.retrieve(query, self.embed(query))
        answer = self.extract(found)
        if use_llm:
            answer = self.compose(found, answer, on_draft)
        return self.finish(found, answer)

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
        outcome = self.refetch(article_id, kb)
        return refreshed(outcome, self.store_refetches([outcome], kb)[0])

    def refetch(self, article_id: str, kb: str | None = None, now: datetime | None = None) -> FetchOutcome:
        """Fetch a URL article again, conditionally (ETag, Last-Modified, else its text's hash); store nothing."""
        from retrieval import ingest
        from retrieval.adding import content_hash

        info = self.get_article(article_id, kb)
        if not info.url:
            raise InvalidInput(f"article {info.id} was not added from a URL, so it cannot be refreshed")
        if ingest.is_message_link(info.url):
            raise InvalidInput(
                f"article {info.id} is a chat message, so it cannot be fetched again; "
                "add the message again to update it"
            )
        stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        try:
            doc = ingest.refetch_url(
                info.url,
                self.fetcher,
                self.settings.limits,
                etag=info.etag,
                last_modified=info.last_modified,
                now=stamp,
            )
        except CitebotError as exc:  # the old version stays; a vanished page is counted
            gone = isinstance(exc, Gone)
            fresh = replace(info, vanished=info.vanished + 1) if gone else None
            return FetchOutcome(info, fresh=fresh, error=str(exc), gone=gone)
        if doc is not None and content_hash(doc.text) != info.content_hash:
            return FetchOutcome(info, doc=doc)
        validators = (doc.etag, doc.last_modified) if doc else (info.etag, info.last_modified)
        fresh = replace(info, fetched_at=stamp, vanished=0, etag=validators[0], last_modified=validators[1])
        return FetchOutcome(info, fresh=fresh)

    def store_refetches(
        self, outcomes: Sequence[FetchOutcome], kb: str | None = None
    ) -> list[AddResult | None]:
        """Store re-fetches: changed texts as new versions, the others' freshness in one write.

        Returns per outcome its result, or None for a failed fetch.
        """
        base = self.kb(kb)
        docs = [o.doc for o in outcomes if o.doc is not None]
        changed = iter(self.add_documents(docs, kb) if docs else [])
        fresh = [o.fresh for o in outcomes if o.fresh is not None]
        if fresh:
            with base.write_lock:
                base.store.touch_articles(fresh)
            base.sync()
        results: list[AddResult | None] = []
        for o in outcomes:
            if o.doc is not None:
                results.append(next(changed))
            elif o.error is None and o.fresh is not None:
                results.append(AddResult(o.fresh, "unchanged"))
            else:
                results.append(None)  # failed: the old version stays
        return results


def refreshed(outcome: FetchOutcome, result: AddResult | None) -> AddResult:
    """Return the result of a stored re-fetch, or raise the error of a failed one."""
    if result is None:
        raise (Gone if outcome.gone else FetchError)(outcome.error or "the fetch failed")
    return replace(result, status="unchanged") if result.status == "already present" else result


def with_fetched(citations: tuple[Citation, ...], kb: KnowledgeBase) -> tuple[Citation, ...]:
    """Stamp the citations of URL articles with when their article was last fetched."""
    return tuple(
        replace(c, fetched_at=info.fetched_at)
        if (info := kb.articles.get(c.article_id)) and info.fetched_at
        else c
        for c in citations
    )
