"""The one async front of the service: every blocking call in a worker thread, with bounded work.

Separate limits keep one kind of work from starving another: query embeddings (short,
CPU-bound), search and extraction (Python, holding the GIL: bounded so the event loop stays
responsive), ingestion (long) and LLM answers (slow, network-bound). A slow model never holds
up an extractive answer, and a long ingest never holds up asks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from retrieval.records import AnswerRecord, FeedbackRecord, Records, Retention, ThreadRecord, now
from retrieval.storemark import QUIET_NS

if TYPE_CHECKING:
    from datetime import datetime

    from config.settings import Settings
    from retrieval.gaps import Gap
    from retrieval.models import AddResult, Answer, ArticleInfo, FetchOutcome, SourceDocument
    from retrieval.service import CitebotService
    from retrieval.stats import Stats

T = TypeVar("T")
log = logging.getLogger(__name__)
RETAKE_AFTER = QUIET_NS / 1e9 + 0.05  # s after a record write: once the database files are quiet


async def _thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(functools.partial(func, *args, **kwargs))


class AsyncCitebot:
    """Everything the bot needs from the service, as coroutines that never block the loop."""

    def __init__(
        self,
        service: CitebotService,
        *,
        max_encodes: int = 1,
        max_llm: int = 2,
        max_adds: int = 1,
        max_fetches: int = 2,
    ) -> None:
        self._service = service
        self._encodes = asyncio.Semaphore(max_encodes)
        self._searches = asyncio.Semaphore(max_encodes)
        self._llm = asyncio.Semaphore(max_llm)
        self._adds = asyncio.Semaphore(max_adds)
        # Re-fetches wait on other servers' pages: bounded so they never hold many worker threads.
        self._fetches = asyncio.Semaphore(max_fetches)
        self.records = Records(service.store)
        self._reports = asyncio.Semaphore(1)  # gaps and stats: editors' reports, one at a time
        self.retention = Retention(self.records)
        self._retakes: set[asyncio.Task[None]] = set()

    @property
    def settings(self) -> Settings:
        """Return the settings the service runs with."""
        return self._service.settings

    @property
    def has_llm(self) -> bool:
        """Tell whether answers may be written by an LLM (and follow-ups rewritten by one)."""
        return self._service.has_llm

    def validate_question(self, question: str) -> str:
        """Return the cleaned question, or raise InvalidInput (no I/O: safe on the loop)."""
        return self._service.validate_question(question)

    async def ask(
        self,
        question: str,
        kb: str,
        k: int | None = None,
        context: str | None = None,
        on_draft: Callable[[Answer], None] | None = None,
        *,
        use_llm: bool = True,
    ) -> Answer:
        """Answer a question: embed under the encode limit, write with the LLM under its own.

        on_draft (see CitebotService.compose) runs in a worker thread. With use_llm=False the
        answer is extractive and never waits for the LLM.
        """
        service = self._service
        async with self._searches:
            query = await _thread(service.prepare, question, kb, k, context)
        async with self._encodes:
            vector = await _thread(service.embed, query)
        async with self._searches:
            found = await _thread(service.retrieve, query, vector)
            answer = await _thread(service.extract, found)
        if use_llm and service.has_llm and found.passages:
            async with self._llm:
                answer = await _thread(service.compose, found, answer, on_draft)
        return service.finish(found, answer)

    async def standalone_question(self, previous: str, follow_up: str) -> tuple[str, str | None]:
        """Return (question, context) for a follow-up (see CitebotService.standalone_question)."""
        if not self.has_llm:
            return self._service.standalone_question(previous, follow_up)
        async with self._llm:
            return await _thread(self._service.standalone_question, previous, follow_up)

    async def add_document(self, doc: SourceDocument, kb: str, added_by: str | None) -> AddResult:
        """Store a document."""
        async with self._adds:
            return await _thread(self._service.add_document, doc, kb, added_by)

    async def add_text(self, text: str, title: str | None, kb: str, added_by: str | None) -> AddResult:
        """Store pasted text."""
        from retrieval import ingest

        doc = await _thread(ingest.from_text, text, title, self.settings.limits)
        return await self.add_document(doc, kb, added_by)

    async def add_message(
        self,
        text: str,
        *,
        author: str,
        date: str | None,
        link: str,
        where: str,
        kb: str,
        added_by: str | None,
    ) -> AddResult:
        """Store a chat message as an article, cited by its link."""
        from retrieval import ingest

        doc = await _thread(
            ingest.from_message,
            text,
            author=author,
            date=date,
            link=link,
            where=where,
            limits=self.settings.limits,
        )
        return await self.add_document(doc, kb, added_by)

    async def add_file(
        self, data: bytes, filename: str, title: str | None, kb: str, added_by: str | None
    ) -> AddResult:
        """Extract and store an uploaded file."""
        from retrieval import ingest

        doc = await _thread(ingest.from_bytes, data, filename, title, self.settings.limits)
        return await self.add_document(doc, kb, added_by)

    async def add_url(self, url: str, kb: str, added_by: str | None, title: str | None = None) -> AddResult:
        """Fetch and store a URL."""
        async with self._adds:
            return await _thread(self._service.add_source, url, kb, title, added_by)

    async def seed(self, kb: str) -> list[AddResult]:
        """Add the shipped seed articles to a knowledge base."""
        async with self._adds:
            return await _thread(self._service.seed, kb)

    async def refresh(self, article_id: str, kb: str) -> AddResult:
        """Refresh a URL article: fetch it (outside the add limit), then store what changed."""
        from retrieval.service import refreshed

        outcome = await self.refetch(article_id, kb)
        return refreshed(outcome, (await self.store_refetches([outcome], kb))[0])

    async def refetch(self, article_id: str, kb: str, now: datetime | None = None) -> FetchOutcome:
        """Fetch a URL article again, conditionally; store nothing (see CitebotService.refetch)."""
        async with self._fetches:
            return await _thread(self._service.refetch, article_id, kb, now)

    async def store_refetches(self, outcomes: Sequence[FetchOutcome], kb: str) -> list[AddResult | None]:
        """Store re-fetches: changed texts under the add limit, the others' freshness in one write."""
        async with self._adds:
            return await _thread(self._service.store_refetches, outcomes, kb)

    async def list_articles(self, kb: str) -> list[ArticleInfo]:
        """List a knowledge base's articles."""
        return await _thread(self._service.list_articles, kb)

    async def get_article(self, article_id: str, kb: str) -> ArticleInfo:
        """Return one article, or raise NotFound."""
        return await _thread(self._service.get_article, article_id, kb)

    async def remove(self, article_id: str, kb: str) -> ArticleInfo:
        """Remove an article."""
        return await _thread(self._service.remove, article_id, kb)

    async def save_answer(self, answer_id: str, record: AnswerRecord) -> None:
        """Remember an answer shown (for its feedback and more-sources buttons)."""
        await _thread(self.records.answers.put, answer_id, record)
        self._wrote()

    async def answer(self, answer_id: str) -> AnswerRecord | None:
        """Return a shown answer's record, or None."""
        return await _thread(self.records.answers.get, answer_id)

    async def save_feedback(self, record: FeedbackRecord) -> None:
        """Store a vote (one per person and answer; a new vote replaces the old)."""
        await _thread(self.records.feedback.put, record.key, record)
        self._wrote()

    async def feedback(self, answer_id: str, user_id: int) -> FeedbackRecord | None:
        """Return a person's vote on an answer, or None."""
        return await _thread(self.records.feedback.get, FeedbackRecord.key_for(answer_id, user_id))

    async def thread(self, thread_id: int) -> ThreadRecord | None:
        """Return what citebot knows of a thread or forum post, or None."""
        return await _thread(self.records.threads.get, str(thread_id))

    async def save_thread(self, record: ThreadRecord) -> None:
        """Store what citebot knows of a thread or forum post, dated now (retention counts from its last change)."""
        record = dataclasses.replace(record, at=now())
        await _thread(self.records.threads.put, str(record.thread_id), record)
        self._wrote()

    async def guild_record(self, guild_id: int) -> dict[str, Any] | None:
        """Return a server's stored settings record, or None."""
        return await _thread(self.records.guilds.get, str(guild_id))

    async def save_guild_record(self, guild_id: int, record: dict[str, Any]) -> None:
        """Store a server's settings record."""
        await _thread(self.records.guilds.put, str(guild_id), record)
        self._wrote()

    def _wrote(self) -> None:
        """Take the store's marks again once a record write is quiet, off the asks' path (storemark.py).

        Records live in the same database as the knowledge bases: without this, the write would
        make the next ask read its knowledge base's change token again.
        """
        task = asyncio.get_running_loop().create_task(self._retake())
        self._retakes.add(task)
        task.add_done_callback(self._retakes.discard)

    async def _retake(self) -> None:
        await asyncio.sleep(RETAKE_AFTER)
        try:
            await _thread(self._service.store.marks.retake)
        except Exception:  # only a saving: the next ask reads the token instead
            log.debug("could not take the store marks again", exc_info=True)

    async def settled(self) -> None:
        """Wait for the work left behind by writes (the store marks taken again)."""
        await asyncio.gather(*self._retakes)

    async def gaps(self, guild_id: int, days: int) -> list[Gap]:
        """Return the questions a server's articles did not answer in the last days, grouped."""
        from retrieval import gaps

        async with self._reports:
            asks = await _thread(gaps.recent_asks, self.records, guild_id, days)
            async with self._encodes:  # embedding the questions takes an encode slot, like an ask
                return await _thread(gaps.group, asks, self._service.embedder.encode)

    async def stats(self, guild_id: int, days: int = 30) -> Stats:
        """Return a server's questions, answers, votes and citations per day."""
        from retrieval.stats import server_stats

        return await _thread(server_stats, self.records, guild_id, days)

    async def stats_png(self, stats: Stats, title: str) -> bytes:
        """Draw the stats chart in a child process (see retrieval.chart) and return the PNG."""
        from retrieval.chart import draw_elsewhere

        async with self._reports:
            return await draw_elsewhere(stats, title)

    async def purge_records(self, before: float) -> int:
        """Delete answer, feedback and thread records older than a Unix time; return how many."""
        return await _thread(self.retention.purge, before)

    async def forget_user(self, guild_id: int, user_id: int) -> int:
        """Delete a person's records in one server; return how many."""
        return await _thread(self.retention.forget, guild_id, user_id)

    async def close(self) -> None:
        """Release the service's connections and threads."""
        for task in list(self._retakes):
            task.cancel()
        await _thread(self._service.close)
