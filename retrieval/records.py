"""Small JSON records (server settings, shown answers, feedback) kept in Chroma too.

Chroma is the one source of truth, so several bot processes sharing a Chroma server
see the same server settings and feedback.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Self, TypeVar

from retrieval.errors import InvalidInput
from retrieval.store import ChromaStore, _chroma_call

_NAMESPACE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


def now() -> str:
    """Return the current UTC time as records store it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


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

    def put(self, key: str, value: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        """Store value under key, replacing any earlier record (meta: fields to find it by)."""
        _chroma_call(
            "saving a record",
            self._col.upsert,
            ids=[key],
            embeddings=[[1.0]],
            documents=[json.dumps(value, ensure_ascii=False, sort_keys=True)],
            **({"metadatas": [meta]} if meta else {}),
        )


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
    at: str = dataclasses.field(default_factory=now)


R = TypeVar("R", bound=Record)


class TypedStore(Generic[R]):
    """Records of one type by key."""

    def __init__(self, raw: RecordStore, kind: type[R]) -> None:
        self._raw = raw
        self._kind = kind

    def get(self, key: str) -> R | None:
        """Return the record stored under key, or None."""
        data = self._raw.get(key)
        return None if data is None else self._kind.from_json(data)

    def put(self, key: str, record: R) -> None:
        """Store a record under key, replacing any earlier one."""
        self._raw.put(key, record.to_json(), record_meta(record.to_json()))


class Records:
    """The bot's record stores: server settings (raw JSON), shown answers, feedback, threads."""

    def __init__(self, store: ChromaStore) -> None:
        self.guilds = RecordStore(store, "guilds")
        self.answers = TypedStore(RecordStore(store, "answers"), AnswerRecord)
        self.feedback = TypedStore(RecordStore(store, "feedback"), FeedbackRecord)
        self.threads = TypedStore(RecordStore(store, "threads"), ThreadRecord)


# -- retention: finding records by server, person and age (issue 15) --------------------------
# Every answer, feedback and thread record carries Chroma metadata to find it by: guild_id,
# user_id (the asker, voter, or the thread's asker) and at_ts (Unix seconds); feedback also
# answer_id. Records written before that have none until `backfill` adds it from their JSON.


def at_ts(at: str | None) -> int | None:
    """Return the Unix seconds of a record's ISO 8601 time, or None if absent or unreadable."""
    try:
        parsed = datetime.fromisoformat(at) if at else None
    except ValueError:
        return None
    return (
        None if parsed is None else int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
    )


def record_meta(data: dict[str, Any]) -> dict[str, Any]:
    """Return the metadata a record is found by (from its JSON form)."""
    user = data.get("user_id", data.get("asker_id"))
    meta = {"guild_id": data.get("guild_id"), "user_id": user, "at_ts": at_ts(data.get("at"))}
    if isinstance(data.get("answer_id"), str):
        meta["answer_id"] = data["answer_id"]
    return {k: v for k, v in meta.items() if v is not None}


class Retention:
    """Deleting records by age and by person, across the answer, feedback and thread stores."""

    def __init__(self, records: Records) -> None:
        self._stores = (records.answers._raw, records.feedback._raw, records.threads._raw)
        self._backfilled = False

    def backfill(self, page: int = 1000) -> int:
        """Give records written without metadata theirs (once per process); return how many."""
        if self._backfilled:
            return 0
        done = sum(_backfill(raw._col, page) for raw in self._stores)
        self._backfilled = True
        return done

    def purge(self, before: float) -> int:
        """Delete the answer, feedback and thread records older than a Unix time; return how many."""
        self.backfill()
        return sum(_delete(raw._col, {"at_ts": {"$lt": int(before)}}) for raw in self._stores)

    def forget(self, guild_id: int, user_id: int) -> int:
        """Delete a person's records in one server: their answers, votes and threads, and votes on their answers."""
        self.backfill()
        answers, feedback, threads = (raw._col for raw in self._stores)
        mine = {"$and": [{"guild_id": int(guild_id)}, {"user_id": int(user_id)}]}
        asked = _ids(answers, mine)
        deleted = _delete(answers, mine) + _delete(feedback, mine) + _delete(threads, mine)
        for lo in range(0, len(asked), 500):  # others' votes on their answers hold their question
            deleted += _delete(feedback, {"answer_id": {"$in": asked[lo : lo + 500]}})
        return deleted


def _ids(col: Any, where: dict[str, Any]) -> list[str]:
    got = _chroma_call("finding records", col.get, where=where, include=[])
    return list(got["ids"])


def _delete(col: Any, where: dict[str, Any]) -> int:
    ids = _ids(col, where)
    if ids:
        _chroma_call("deleting records", col.delete, ids=ids)
    return len(ids)


def _backfill(col: Any, page: int) -> int:
    done, offset = 0, 0
    while True:
        got = _chroma_call(
            "reading records", col.get, include=["metadatas", "documents"], limit=page, offset=offset
        )
        ids, metas, docs = got["ids"], got["metadatas"] or [], got["documents"] or []
        todo = [
            (i, record_meta(json.loads(d))) for i, m, d in zip(ids, metas, docs, strict=False) if not m and d
        ]
        todo = [(i, m) for i, m in todo if m]
        if todo:
            _chroma_call(
                "saving records", col.update, ids=[i for i, _ in todo], metadatas=[m for _, m in todo]
            )
            done += len(todo)
        if len(ids) < page:
            return done
        offset += page
