"""The request journal: what each request sent (key redacted), the reply chosen and why; filterable.

Kept in a table of the job store's SQLite file, so every worker process writes to one journal and a test
reads it through any of them. Bounded: the oldest entries go once `max_entries` is passed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "REDACTED",
    "EntryFilter",
    "JournalEntry",
    "SQLiteJournal",
    "matches",
    "parse_filters",
    "redact",
]

REDACTED = "[redacted]"
MAX_TEXT = 2000  # longer strings are cut in the journal (a 1 MB prompt is noted, not kept)
_FIELDS = ("operation", "method", "path", "status", "http_status", "example", "why", "job_id", "fault")


@dataclass(frozen=True)
class JournalEntry:
    at: float
    method: str
    path: str
    operation: str | None  # operationId; None when no operation matched
    body: Any  # the JSON body as received, key redacted, long strings cut; None when unusable
    http_status: int
    status: str | None  # the reply's `status` (success, processing, error, failed); None for mock faults
    example: str | None  # the named example the reply follows
    why: str  # what chose it: "violations: ...", "prefer", "rule: <name>", "ratio", "default", "job state"
    job_id: int | None = None
    fault: str | None = None  # a deliberate fault (drop, slow-body, 500, 503), if any
    seq: int = 0  # the journal's own order, assigned when stored

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def redact(body: Any) -> Any:
    """The body fit for a journal: `key` replaced, strings over MAX_TEXT characters cut."""

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_TEXT:
            return f"{value[:MAX_TEXT]}...[{len(value) - MAX_TEXT} more characters]"
        if isinstance(value, list):
            return [cut(item) for item in value]
        if isinstance(value, dict):
            return {name: cut(item) for name, item in value.items()}
        return value

    if not isinstance(body, dict):
        return cut(body)
    return cut({name: (REDACTED if name == "key" else value) for name, value in body.items()})


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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    operation TEXT,
    doc TEXT NOT NULL
);
"""


class SQLiteJournal:
    """The journal in a SQLite file (shared by worker processes) or `:memory:`."""

    def __init__(self, path: str, max_entries: int = 10_000, trim_every: int = 100) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries!r}")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.max_entries = max_entries
        self._trim_every = trim_every
        self._appended = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
        with self._lock:
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)

    def append(self, entry: JournalEntry) -> int:
        doc = json.dumps({**entry.as_dict(), "seq": 0}, separators=(",", ":"), default=str)
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO journal (operation, doc) VALUES (?, ?)", (entry.operation, doc)
            )
            self._appended += 1
            if self._appended % self._trim_every == 0:
                self._trim()
        return cursor.lastrowid or 0

    def _trim(self) -> None:
        self._db.execute(
            "DELETE FROM journal WHERE seq <= (SELECT MAX(seq) FROM journal) - ?", (self.max_entries,)
        )

    def entries(self, filters: Sequence[EntryFilter] = (), *, limit: int | None = None) -> list[JournalEntry]:
        """Matching entries, oldest first; `limit` keeps the newest ones."""
        operation = next((f.raw for f in filters if f.path == ("operation",)), None)
        sql, args = "SELECT seq, doc FROM journal", tuple[str, ...]()
        if operation is not None:
            sql, args = sql + " WHERE operation = ?", (operation,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        decoded = (_decode(seq, doc) for seq, doc in rows[-self.max_entries :])
        found = [entry for entry in decoded if matches(entry, filters)]
        return found if limit is None else found[-limit:]

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM journal")

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM journal").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _decode(seq: int, doc: str) -> JournalEntry:
    data = json.loads(doc)
    data["seq"] = seq
    return JournalEntry(**data)
