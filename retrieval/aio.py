"""The one async wrapper over the sync service: worker threads and bounded encoding."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from retrieval.models import AddResult, Answer, ArticleInfo, SourceDocument

if TYPE_CHECKING:
    from retrieval.service import CitebotService

T = TypeVar("T")


class AsyncCitebot:
    """Run service calls in worker threads so the event loop never blocks.

    Asks and adds queue on separate semaphores, so a long ingest never holds up answers,
    and the number of threads encoding at once stays bounded.
    """

    def __init__(self, service: CitebotService, max_asks: int = 2, max_adds: int = 1) -> None:
        self.service = service
        self._asks = asyncio.Semaphore(max_asks)
        self._adds = asyncio.Semaphore(max_adds)
        self._other = asyncio.Semaphore(max_asks + max_adds)

    async def _run(self, gate: asyncio.Semaphore, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async with gate:
            return await asyncio.to_thread(functools.partial(func, *args, **kwargs))

    async def ask(
        self,
        question: str,
        kb: str,
        k: int | None = None,
        context: str | None = None,
        on_draft: Callable[[Answer], None] | None = None,
    ) -> Answer:
        """Answer a question (see CitebotService.ask; on_draft runs in the worker thread)."""
        return await self._run(self._asks, self.service.ask, question, kb, k, context, on_draft=on_draft)

    async def add_document(self, doc: SourceDocument, kb: str, added_by: str | None) -> AddResult:
        """Store a document (see CitebotService.add_document)."""
        return await self._run(self._adds, self.service.add_document, doc, kb, added_by)

    async def add_url(self, url: str, kb: str, added_by: str | None, title: str | None = None) -> AddResult:
        """Fetch and store a URL."""
        return await self._run(self._adds, self.service.add_source, url, kb, title, added_by)

    async def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run any other blocking call (listing, parsing, removing) off the event loop."""
        return await self._run(self._other, func, *args, **kwargs)

    async def list_articles(self, kb: str) -> list[ArticleInfo]:
        """List a knowledge base's articles."""
        return await self.call(self.service.list_articles, kb)

    async def remove(self, article_id: str, kb: str) -> ArticleInfo:
        """Remove an article."""
        return await self.call(self.service.remove, article_id, kb)

    async def refresh(self, article_id: str, kb: str) -> AddResult:
        """Refresh a URL article."""
        return await self._run(self._adds, self.service.refresh, article_id, kb)
