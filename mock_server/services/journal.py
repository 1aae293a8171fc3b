"""The request journal: what each request sent (key redacted), the reply chosen and why; filterable.

Kept in a table of the job store's SQLite file, so every worker process writes to one journal and a test
reads it through any of them. Bounded: the oldest entries go once `max_entries` is passed.

Write-behind: `append` only buffers the entry in memory; `flush` writes the buffer in one batch. A process
flushes before each of its own reads, when `flush_every` entries are waiting, and when its server's flush
loop runs (every `FLUSH_EVERY_S`), so entries written by another worker process show up after at most that
long. The journal is inspection data, not jobs: entries still buffered when a process is killed are lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mock_server.state.database import close_database, open_database

__all__ = [
    "FLUSH_EVERY_S",
    "REDACTED",
    "EntryFilter",
    "Journal",
    "JournalEntry",
    "SQLiteJournal",
    "decode_entry",
    "encode_entry",
    "matches",
    "parse_filters",
    "redact",
]

REDACTED = "[redacted]"
MAX_TEXT = 2000  # longer strings are cut in the journal (a 1 MB prompt is noted, not kept)
FLUSH_EVERY_S = 0.02  # how often a server process writes its buffered entries (see `services`)
_FIELDS = ("operation", "method", "path", "status", "http_status", "example", "why", "job_id", "fault")


@dataclass(frozen=True)
class JournalEntry:
    at: float
    method: str
    path: str
    operation: str | None  # operationId; None when no operation matched
    body: Any  # the JSON body as received, key redacted, long strings cut; None when unusable
    http_status: int
    status: str | None  # the reply's `status` (success, processing, error, failed); None for problems
    example: str | None  # the named example the reply follows
    why: str  # what chose it: "violations: ...", "prefer", "rule: <name>", "ratio", "default", "job state"
    job_id: int | None = None
    fault: str | None = None  # a deliberate fault (drop, slow-body, 500, 503), if any
    seq: int = 0  # the journal's own order, assigned when stored

    def as_dict(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies every value, and this runs once per request.
        return {
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "body": self.body,
            "http_status": self.http_status,
            "status": self.status,
            "example": self.example,
            "why": self.why,
            "job_id": self.job_id,
            "fault": self.fault,
            "seq": self.seq,
        }


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"{value[:MAX_TEXT]}...[{len(value) - MAX_TEXT} more characters]"
    if isinstance(value, list):
        return [_cut(item) for item in value]
    if isinstance(value, dict):
        return {name: _cut(item) for name, item in value.items()}
    return value


def redact(body: Any) -> Any:
    """The body fit for a journal: `key` replaced, strings over MAX_TEXT characters cut (a new value)."""
    if not isinstance(body, dict):
        return _cut(body)
    return {name: REDACTED if name == "key" else _cut(value) for name, value in body.items()}


@dataclass(frozen=True)
class EntryFilter:
    """One `name=value` condition; `body.steps=41` looks inside the body (dots, list indices)."""

    path: tuple[str, ...]
    raw: str

    def accepts(self, entry: JournalEntry) -> bool:
        found, value = _lookup(entry, self.path)
        if not found:
            return False
        if isinstance(value, str):
            return value == self.raw
        try:
            wanted = json.loads(self.raw)
        except ValueError:
            return False
        # 41 == 41.0 in Python; keep booleans apart from 1 and 0
        return bool(value == wanted and isinstance(value, bool) == isinstance(wanted, bool))


def _lookup(entry: JournalEntry, path: Sequence[str]) -> tuple[bool, Any]:
    value: Any = entry.as_dict()
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def parse_filters(query: Mapping[str, str] | Sequence[tuple[str, str]]) -> list[EntryFilter]:
    """Filters from query parameters; ValueError naming an unknown field."""
    pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
    filters = []
    for name, raw in pairs:
        path = tuple(name.split("."))
        if path[0] not in (*_FIELDS, "body", "at", "seq") or (path[0] != "body" and len(path) > 1):
            known = ", ".join((*_FIELDS, "body.<field>"))
            raise ValueError(f"cannot filter on {name!r}; filters: {known}")
        filters.append(EntryFilter(path, raw))
    return filters


def matches(entry: JournalEntry, filters: Sequence[EntryFilter]) -> bool:
    return all(condition.accepts(entry) for condition in filters)


class Journal(Protocol):
    """Where the journal lives (the job store's SQLite file, or Redis), written behind in batches."""

    max_entries: int

    def append(self, entry: JournalEntry) -> None:
        """Buffer one entry; it is written at the next flush."""
        ...

    @property
    def pending(self) -> int:
        """Entries buffered in this process and not yet written."""
        ...

    def flush(self) -> int:
        """Write the buffered entries in one batch, oldest first; returns how many were written."""
        ...

    def entries(self, filters: Sequence[EntryFilter] = (), *, limit: int | None = None) -> list[JournalEntry]:
        """Matching entries, oldest first; `limit` keeps the newest ones."""
        ...

    def clear(self) -> None: ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    operation TEXT,
    doc TEXT NOT NULL
);
"""


class SQLiteJournal:
    """The journal in a SQLite file (shared by worker processes) or `:memory:`, written behind in batches."""

    def __init__(
        self, path: str, max_entries: int = 10_000, trim_every: int = 100, flush_every: int = 128
    ) -> None:
        bounds = {"max_entries": max_entries, "trim_every": trim_every, "flush_every": flush_every}
        for name, value in bounds.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value!r}")
        self.max_entries = max_entries
        self._trim_every = trim_every
        self._flush_every = flush_every
        self._since_trim = 0
        self._pending: list[JournalEntry] = []
        self._database = open_database(path)
        self._db, self._lock = self._database.connection, self._database.lock
        self._closed = False
        with self._lock:
            self._db.executescript(_SCHEMA)

    def append(self, entry: JournalEntry) -> None:
        """Buffer one entry; it is written at the next flush (at once when `flush_every` are waiting)."""
        with self._lock:
            self._pending.append(entry)
            full = len(self._pending) >= self._flush_every
        if full:
            self.flush()

    @property
    def pending(self) -> int:
        """Entries buffered in this process and not yet written."""
        return len(self._pending)

    def flush(self) -> int:
        """Write the buffered entries in one batch, oldest first; returns how many were written."""
        with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            rows = [(entry.operation, encode_entry(entry)) for entry in batch]
            self._db.execute("BEGIN IMMEDIATE")  # one transaction for the batch, not one per row
            try:
                self._db.executemany("INSERT INTO journal (operation, doc) VALUES (?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._since_trim += len(batch)
            if self._since_trim >= self._trim_every:
                self._since_trim = 0
                self._db.execute(
                    "DELETE FROM journal WHERE seq <= (SELECT MAX(seq) FROM journal) - ?", (self.max_entries,)
                )
        return len(batch)

    def entries(self, filters: Sequence[EntryFilter] = (), *, limit: int | None = None) -> list[JournalEntry]:
        """Matching entries, oldest first; `limit` keeps the newest ones."""
        self.flush()
        operation = next((f.raw for f in filters if f.path == ("operation",)), None)
        sql, args = "SELECT seq, doc FROM journal", tuple[str, ...]()
        if operation is not None:
            sql, args = sql + " WHERE operation = ?", (operation,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        decoded = (decode_entry(seq, doc) for seq, doc in rows[-self.max_entries :])
        found = [entry for entry in decoded if matches(entry, filters)]
        return found if limit is None else found[-limit:]

    def clear(self) -> None:
        with self._lock:
            self._pending = []
            self._db.execute("DELETE FROM journal")

    def __len__(self) -> int:
        self.flush()
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM journal").fetchone()
        return int(count)

    def close(self) -> None:
        if not self._closed:
            self.flush()
            self._closed = True
            close_database(self._database)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)  # built once, not per entry


def encode_entry(entry: JournalEntry) -> str:
    data = entry.as_dict()
    data["seq"] = 0  # the row's own `seq` column is the truth
    return _ENCODER.encode(data)


def decode_entry(seq: int, doc: str | bytes) -> JournalEntry:
    data = json.loads(doc)
    data["seq"] = seq
    return JournalEntry(**data)
