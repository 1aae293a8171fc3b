"""The request journal: what each request sent (key redacted), the reply chosen and why; filterable.

Kept in a table of the job store's SQLite file (or in a Redis stream, `state/redis/journal.py`), so every
worker process and replica writes to one journal and a test reads it through any of them. Bounded three
ways: each entry (its body is cut to a budget by `redaction`, its path and reason to MAX_TEXT
characters), the number of entries (`max_entries`) and their total size (`max_bytes`); the oldest entries
go first. A read never loads the whole journal: it walks back from the newest entry in batches and stops
once it has `limit` matches.

Write-behind: `append` only buffers the entry in memory; `flush` writes the buffer in one batch. A process
flushes before each of its own reads, when `flush_every` entries are waiting, and when its server's flush
loop runs (every `FLUSH_EVERY_S`), so entries written by another worker process show up after at most that
long. The journal is inspection data, not jobs: entries still buffered when a process is killed are lost.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from mock_server.services.redaction import MAX_TEXT, cut_text
from mock_server.state.database import close_database, open_database

__all__ = [
    "FLUSH_EVERY_S",
    "EntryFilter",
    "Journal",
    "JournalEntry",
    "SQLiteJournal",
    "bounded_entry",
    "decode_entry",
    "encode_entry",
    "matches",
    "parse_filters",
]

FLUSH_EVERY_S = 0.02  # how often a server process writes its buffered entries (see `services`)
READ_BATCH = 64  # entries decoded at a time while a read walks back through the journal
_FIELDS = (
    "operation",
    "method",
    "path",
    "status",
    "http_status",
    "example",
    "why",
    "job_id",
    "fault",
    "session",
)


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
    session: str = ""  # the request's session (mock_server/sessions.py); "" for the default one
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
            "session": self.session,
            "seq": self.seq,
        }


def bounded_entry(entry: JournalEntry) -> JournalEntry:
    """The entry with its path and reason cut to MAX_TEXT characters (its body is bounded by `redact`)."""
    if len(entry.path) <= MAX_TEXT and len(entry.why) <= MAX_TEXT:
        return entry
    return replace(entry, path=cut_text(entry.path), why=cut_text(entry.why))


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
        except (ValueError, RecursionError):  # not JSON (or nested past the parser): matches no value
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


def newest_matching(
    newest_first: Iterable[JournalEntry], filters: Sequence[EntryFilter], limit: int | None
) -> list[JournalEntry]:
    """The newest `limit` entries (all when None) matching `filters`, oldest first, read from a store's
    newest-first walk no further than the last one kept."""
    found = list(itertools.islice((entry for entry in newest_first if matches(entry, filters)), limit))
    found.reverse()
    return found


class Journal(Protocol):
    """Where journal entries live, shared by every process; every method raises StoreError when the
    store fails. The stored journal keeps at most `max_entries` entries and about `max_bytes` bytes of
    them (trimming may lag by a write batch), the oldest going first; reads never return more."""

    max_entries: int
    max_bytes: int

    def append(self, entry: JournalEntry) -> None:
        """Record one entry (`bounded_entry` applied), possibly buffered until the next `flush`."""
        ...

    def flush(self) -> int:
        """Write what this process buffered, in one batch, oldest first; returns how many entries.

        A batch that cannot be written is given up (the journal is inspection data) and StoreError says
        so: a failing store never makes a process's buffer grow."""
        ...

    @property
    def pending(self) -> int:
        """Entries buffered in this process and not yet written."""
        ...

    @property
    def networked(self) -> bool:
        """Whether `flush` waits on a network round trip (the server then flushes off its event loop)."""
        ...

    def entries(
        self, filters: Sequence[EntryFilter] = (), *, limit: int | None = None, before: int | None = None
    ) -> list[JournalEntry]:
        """Matching entries with `seq` below `before`, oldest first; with `limit`, the newest `limit` of
        them. Reads walk back from the newest entry in batches: never the whole journal at once."""
        ...

    def clear(self, session: str | None = None) -> None:
        """Forget the entries of one session, or every entry (None)."""
        ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    operation TEXT,
    doc TEXT NOT NULL
);
"""
# Added after the first release: a store file written before gets it on open (its old rows count 0 bytes).
_SIZE_COLUMN = "ALTER TABLE journal ADD COLUMN size INTEGER NOT NULL DEFAULT 0"
_SIZE_INDEX = "CREATE INDEX IF NOT EXISTS journal_sizes ON journal (seq, size)"
# The journal's size in bytes, kept by triggers: trimming reads one row, and sums sizes only when the
# bound is passed (a sum over every entry at each trim cost a seventh of a CPU at 2,000 creates a second).
_TOTAL = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS journal_total (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL);
INSERT OR IGNORE INTO journal_total VALUES (0, (SELECT coalesce(SUM(size), 0) FROM journal));
CREATE TRIGGER IF NOT EXISTS journal_added AFTER INSERT ON journal
    BEGIN UPDATE journal_total SET bytes = bytes + NEW.size WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS journal_removed AFTER DELETE ON journal
    BEGIN UPDATE journal_total SET bytes = bytes - OLD.size WHERE id = 0; END;
COMMIT;
"""
# The newest entries whose sizes add up to more than max_bytes, and everything older, go.
_TRIM_BYTES = """
DELETE FROM journal WHERE seq <= (
    SELECT seq FROM (SELECT seq, SUM(size) OVER (ORDER BY seq DESC) AS total FROM journal)
    WHERE total > ? ORDER BY seq DESC LIMIT 1
)
"""


class WriteBehind:
    """What every journal does in-process: entries wait in a buffer and go to the store in batches.

    A subclass sets `_pending`, `_lock` and `_flush_every`, and writes the buffer in `flush`."""

    networked = False
    _pending: list[JournalEntry]
    _lock: threading.Lock | threading.RLock
    _flush_every: int

    def append(self, entry: JournalEntry) -> None:
        """Buffer one entry; it is written at the next flush (at once when `flush_every` are waiting)."""
        with self._lock:
            self._pending.append(bounded_entry(entry))
            full = len(self._pending) >= self._flush_every
        if full:
            self.flush()

    @property
    def pending(self) -> int:
        """Entries buffered in this process and not yet written."""
        return len(self._pending)

    def flush(self) -> int:
        raise NotImplementedError


class SQLiteJournal(WriteBehind):
    """The journal in a SQLite file (shared by worker processes) or `:memory:`, written behind in batches."""

    def __init__(
        self,
        path: str,
        max_entries: int = 10_000,
        trim_every: int = 100,
        flush_every: int = 128,
        max_bytes: int = 64 << 20,
    ) -> None:
        bounds = {
            "max_entries": max_entries,
            "trim_every": trim_every,
            "flush_every": flush_every,
            "max_bytes": max_bytes,
        }
        for name, value in bounds.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value!r}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._trim_every = trim_every
        self._flush_every = flush_every
        self._since_trim = 0
        self._pending: list[JournalEntry] = []
        self._database = open_database(path)
        self._lock = self._database.lock
        self._closed = False
        try:
            with self._database.writing as db:
                db.executescript(_SCHEMA)
                if "size" not in {row[1] for row in db.execute("PRAGMA table_info(journal)")}:
                    db.execute(_SIZE_COLUMN)
                db.execute(_SIZE_INDEX)
                db.executescript(_TOTAL)
        except BaseException:
            self.close()
            raise

    def flush(self) -> int:
        """Write the buffered entries in one batch, oldest first; returns how many were written.

        A batch that cannot be written is dropped (the journal is inspection data): StoreError says so.
        """
        with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            docs = [(entry.operation, encode_entry(entry)) for entry in batch]
            rows = [(operation, doc, len(doc)) for operation, doc in docs]
            with self._database.transaction() as db:  # one transaction for the batch, not one per row
                db.executemany("INSERT INTO journal (operation, doc, size) VALUES (?, ?, ?)", rows)
            self._since_trim += len(batch)
            if self._since_trim >= self._trim_every:
                self._since_trim = 0
                self._trim()
        return len(batch)

    def _trim(self) -> None:
        with self._database.writing as db:
            db.execute(
                "DELETE FROM journal WHERE seq <= (SELECT MAX(seq) FROM journal) - ?", (self.max_entries,)
            )
            (total,) = db.execute("SELECT bytes FROM journal_total").fetchone()
            if total > self.max_bytes:
                db.execute(_TRIM_BYTES, (self.max_bytes,))

    def entries(
        self, filters: Sequence[EntryFilter] = (), *, limit: int | None = None, before: int | None = None
    ) -> list[JournalEntry]:
        """Matching entries, oldest first; `limit` keeps the newest ones, `before` continues a page."""
        self.flush()
        operation = next((f.raw for f in filters if f.path == ("operation",)), None)
        sql = "SELECT seq, doc FROM journal WHERE seq < ? AND seq > ?"
        if operation is not None:
            sql += " AND operation = ?"
        with self._database.reading as db:
            (newest,) = db.execute("SELECT coalesce(MAX(seq), 0) FROM journal").fetchone()
        oldest_kept = newest - self.max_entries  # trimming lags; entries at or below it are already gone
        below = min(before, newest + 1) if before is not None else newest + 1
        args = (oldest_kept,) if operation is None else (oldest_kept, operation)
        return newest_matching(self._newest_first(sql, below, args), filters, limit)

    def _newest_first(self, sql: str, below: int, args: tuple[Any, ...]) -> Iterator[JournalEntry]:
        """What `sql` selects with a seq below `below`, newest first, READ_BATCH rows a read."""
        while True:
            with self._database.reading as db:
                rows = db.execute(sql + " ORDER BY seq DESC LIMIT ?", (below, *args, READ_BATCH)).fetchall()
            yield from (decode_entry(seq, doc) for seq, doc in rows)
            if len(rows) < READ_BATCH:
                return
            below = rows[-1][0]

    def clear(self, session: str | None = None) -> None:
        with self._lock:
            if session is None:
                self._pending = []
                with self._database.writing as db:
                    db.execute("DELETE FROM journal")
                return
            self._pending = [entry for entry in self._pending if entry.session != session]
            with self._database.writing as db:  # at most `max_entries` rows to look at
                db.execute(
                    "DELETE FROM journal WHERE coalesce(json_extract(doc, '$.session'), '') = ?", (session,)
                )

    def __len__(self) -> int:
        self.flush()
        with self._database.reading as db:
            (count,) = db.execute("SELECT COUNT(*) FROM journal").fetchone()
        return int(count)

    def close(self) -> None:
        if not self._closed:
            try:
                self.flush()
            finally:
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
