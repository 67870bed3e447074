"""Small JSON records (server settings, shown answers, feedback) kept in Chroma too.

Chroma is the one source of truth, so several bot processes sharing a Chroma server
see the same server settings and feedback.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from retrieval.errors import InvalidInput
from retrieval.store import ChromaStore, _chroma_call

if TYPE_CHECKING:
    from retrieval.models import Answer

_NAMESPACE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


AT = "at_s"  # the metadata key of a record's time, in seconds since the epoch (Chroma compares numbers)
INDEXED = "__indexed__"  # a marker record: every record of its collection carries its index metadata


def now() -> str:
    """Return the current UTC time as records store it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def epoch(at: str | datetime) -> int:
    """Return a record time (ISO text, or a datetime; naive means UTC) in seconds since the epoch."""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


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

    def put(self, key: str, value: dict[str, Any], index: dict[str, int] | None = None) -> None:
        """Store value under key, replacing any earlier record; index: metadata to find it by."""
        _chroma_call(
            "saving a record",
            self._col.upsert,
            ids=[key],
            embeddings=[[1.0]],
            documents=[json.dumps(value, ensure_ascii=False, sort_keys=True)],
            metadatas=[index] if index else None,
        )

    def delete(self, keys: list[str], batch: int = 500) -> None:
        """Delete records by key, a batch per request."""
        for lo in range(0, len(keys), batch):
            _chroma_call("deleting records", self._col.delete, ids=keys[lo : lo + batch])

    def put_many(self, items: list[tuple[str, dict[str, Any], dict[str, int]]], batch: int = 500) -> None:
        """Store (key, value, index) triples, a batch per request (one write costs ~50 ms whatever its size)."""
        for lo in range(0, len(items), batch):
            part = items[lo : lo + batch]
            _chroma_call(
                "saving records",
                self._col.upsert,
                ids=[key for key, _, _ in part],
                embeddings=[[1.0]] * len(part),
                documents=[json.dumps(value, ensure_ascii=False, sort_keys=True) for _, value, _ in part],
                metadatas=[index for _, _, index in part],
            )

    def find(
        self, where: dict[str, Any] | None = None, page: int = 1000
    ) -> Iterator[tuple[str, dict[str, Any], dict[str, Any] | None]]:
        """Yield (key, record, index) of every record matching where (all of them if None), page by page."""
        offset = 0
        while True:
            got = _chroma_call(
                "listing records",
                self._col.get,
                where=where,
                include=["documents", "metadatas"],
                limit=page,
                offset=offset,
            )
            metas = got.get("metadatas") or [None] * len(got["ids"])
            for key, doc, meta in zip(got["ids"], got["documents"] or [], metas, strict=True):
                if doc:
                    yield key, dict(json.loads(doc)), meta
            if len(got["ids"]) < page:
                return
            offset += page


@dataclass(frozen=True)
class Record:
    """A record with a JSON form: its fields by name (tuples as lists)."""

    def to_json(self) -> dict[str, Any]:
        """Return the JSON-able form of this record."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Build the record from its JSON form (unknown keys are ignored)."""
        values = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def index(self) -> dict[str, int]:
        """Return the metadata records are found by: server, person and time (those it has)."""
        person = getattr(self, "user_id", None) or getattr(self, "asker_id", None)  # a thread's: its asker
        found = {"guild_id": getattr(self, "guild_id", None), "user_id": person}
        out = {name: int(value) for name, value in found.items() if value is not None}
        at = getattr(self, "at", None)
        if isinstance(at, str):
            out[AT] = epoch(at)
        return out


@dataclass(frozen=True)
class AnswerRecord(Record):
    """An answer as shown, kept for its buttons (feedback, more sources)."""

    guild_id: int
    user_id: int
    question: str
    context: str | None
    answer: str
    abstained: bool
    cited: tuple[str, ...]  # article ids, in citation order
    shown: int  # citations shown
    # The citations shown (Citation fields), so "More sources" shows them in full without asking again.
    sources: tuple[dict[str, Any], ...] = ()
    at: str = dataclasses.field(default_factory=now)
    label: str | None = None  # "sure" / "unsure" (None: abstained, or recorded before labels)
    confidence: float | None = None
    channel_id: int | None = None  # where it was shown: the channel, thread or forum post
    handed_off_at: str | None = None  # when someone pressed "Ask a helper" under it

    @classmethod
    def of(
        cls, answer: Answer, guild_id: int, user_id: int, context: str | None, **more: Any
    ) -> AnswerRecord:
        """Return the record of an answer as it was shown (more: at, channel_id)."""
        return cls(
            guild_id=guild_id,
            user_id=user_id,
            question=answer.question,
            context=context,
            answer=answer.answer,
            abstained=answer.abstained,
            cited=tuple(c.article_id for c in answer.citations),
            shown=len(answer.citations),
            sources=tuple(dataclasses.asdict(c) for c in answer.citations),
            label=answer.label,
            confidence=answer.confidence,
            **more,
        )


@dataclass(frozen=True)
class FeedbackRecord(Record):
    """One person's 👍 or 👎 on an answer, with what it was about."""

    answer_id: str
    vote: str  # "up" or "down"
    user_id: int
    guild_id: int
    question: str
    answer: str
    cited: tuple[str, ...]
    at: str = dataclasses.field(default_factory=now)
    # Why a 👎: "wrong", "outdated", "not_covered" or "other" (None: no reason given).
    reason: str | None = None
    reason_text: str | None = None  # the optional words given with "other"

    @staticmethod
    def key_for(answer_id: str, user_id: int) -> str:
        """Return the key of a person's vote on an answer (one vote each)."""
        return f"{answer_id}:{user_id}"

    @property
    def key(self) -> str:
        """Return this vote's key."""
        return self.key_for(self.answer_id, self.user_id)


@dataclass(frozen=True)
class ThreadRecord(Record):
    """What citebot knows of one thread or forum post it answers in (keyed by its channel id)."""

    guild_id: int
    thread_id: int
    asker_id: int | None = None  # who opened the question (the post's or thread's author)
    answers: int = 0  # answers citebot posted in it
    solved_at: str | None = None
    solved_by: int | None = None
    solved_answer_id: str | None = None  # the answer that solved it, if one did
    handed_off_at: str | None = None  # a helper was called: citebot answers only when mentioned
    at: str = dataclasses.field(default_factory=now)  # its last change (retention counts from it)
    staff_replied_at: str | None = None  # a helper or moderator first replied (citebot then stays quiet)


R = TypeVar("R", bound=Record)


class TypedStore(Generic[R]):
    """Records of one type by key."""

    def __init__(self, raw: RecordStore, kind: type[R]) -> None:
        self._raw = raw
        self._kind = kind
        self._indexed = False

    def get(self, key: str) -> R | None:
        """Return the record stored under key, or None."""
        data = self._raw.get(key)
        return None if data is None else self._kind.from_json(data)

    def put(self, key: str, record: R) -> None:
        """Store a record under key, replacing any earlier one."""
        self._raw.put(key, record.to_json(), record.index())

    def since(self, guild_id: int, since: datetime | str) -> list[tuple[str, R]]:
        """Return (key, record) of a server's records at or after a time, oldest first."""
        self._ensure_indexed()
        where = {"$and": [{"guild_id": int(guild_id)}, {AT: {"$gte": epoch(since)}}]}
        found = [(key, self._kind.from_json(data)) for key, data, _ in self._raw.find(where)]
        return sorted(found, key=lambda pair: (epoch(getattr(pair[1], "at", "")), pair[0]))

    def find(self, where: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any] | None]]:
        """Yield (key, JSON form, index) of the records matching where (older records indexed first)."""
        self._ensure_indexed()
        return self._raw.find(where)

    def keys_where(self, where: dict[str, Any]) -> list[str]:
        """Return the keys of the records matching where."""
        return [key for key, _, _ in self.find(where)]

    def delete_where(self, where: dict[str, Any]) -> int:
        """Delete the records matching where; return how many."""
        return self.delete(self.keys_where(where))

    def delete(self, keys: list[str]) -> int:
        """Delete records by key; return how many keys were given."""
        self._raw.delete(keys)
        return len(keys)

    def _ensure_indexed(self) -> None:
        """Give records stored before index metadata existed their index, once per collection."""
        if self._indexed or self._raw.get(INDEXED) is not None:
            self._indexed = True
            return
        # Collected first, written after: writing while paging could move records between pages.
        stale = [(key, data) for key, data, meta in self._raw.find() if key != INDEXED and not meta]
        self._raw.put_many([(key, data, self._kind.from_json(data).index()) for key, data in stale])
        self._raw.put(INDEXED, {"indexed": True})
        self._indexed = True


class Records:
    """The bot's record stores: server settings (raw JSON), shown answers, feedback, threads."""

    def __init__(self, store: ChromaStore) -> None:
        self.guilds = RecordStore(store, "guilds")
        self.answers = TypedStore(RecordStore(store, "answers"), AnswerRecord)
        self.feedback = TypedStore(RecordStore(store, "feedback"), FeedbackRecord)
        self.threads = TypedStore(RecordStore(store, "threads"), ThreadRecord)

    def answers_since(self, guild_id: int, since: datetime | str) -> list[tuple[str, AnswerRecord]]:
        """Return (answer id, record) of the answers shown in a server since a time, oldest first."""
        return self.answers.since(guild_id, since)

    def feedback_since(self, guild_id: int, since: datetime | str) -> list[FeedbackRecord]:
        """Return the votes given in a server since a time, oldest first."""
        return [record for _, record in self.feedback.since(guild_id, since)]


def guild_of_kb(kb: str) -> int | None:
    """Return the server id whose knowledge base this is (named g<server id>), or None."""
    match = re.fullmatch(r"g([0-9]{1,20})", kb)
    return int(match[1]) if match else None


# -- retention: deleting records by age and by person (issue 15) ------------------------------
class Retention:
    """Deleting records by age and by person, across the answer, feedback and thread stores."""

    def __init__(self, records: Records) -> None:
        self._answers, self._feedback, self._threads = records.answers, records.feedback, records.threads

    def purge(self, before: float) -> int:
        """Delete the answer, feedback and thread records older than a Unix time; return how many."""
        old = {AT: {"$lt": int(before)}}
        return sum(store.delete_where(old) for store in (self._answers, self._feedback, self._threads))

    def forget(self, guild_id: int, user_id: int) -> int:
        """Delete a person's records in one server: their answers, votes and threads, and votes on their answers."""
        mine = {"$and": [{"guild_id": int(guild_id)}, {"user_id": int(user_id)}]}
        asked = set(self._answers.keys_where(mine))
        # Others' votes on their answers repeat their question: they go too.
        votes = [
            key
            for key, data, _ in self._feedback.find({"guild_id": int(guild_id)})
            if data.get("answer_id") in asked and data.get("user_id") != int(user_id)
        ]
        deleted = sum(store.delete_where(mine) for store in (self._answers, self._feedback, self._threads))
        return deleted + self._feedback.delete(votes)
