"""Per-session documents in a table of a SQLite store (run-time defaults, run-time rules), and what a
process last read of them.

The default session keeps its row where it always was; other sessions get one row each in
`<table>` (`session`, `doc`, `touched`), a table created by the first write so that a store never
given a session keeps its layout. Only the `MAX_SESSIONS` most recently written sessions keep their
rows: the oldest go, so the table cannot grow without bound.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from mock_server.sessions import MAX_SESSIONS
from mock_server.state.database import Database
from mock_server.state.jobs import StoreError
from mock_server.state.signal import SignalFile

__all__ = ["SessionCache", "SessionRows", "SignalledDocuments"]

T = TypeVar("T")


class SessionCache(Generic[T]):
    """Each session's value as this process last read it, with the store's version at that read
    (the `MAX_SESSIONS` most recently used)."""

    def __init__(self, size: int = MAX_SESSIONS) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[object, T]] = OrderedDict()

    def get(self, session: str, version: object) -> T | None:
        """The value read at `version`; None when it was read at another, or never."""
        found = self._items.get(session)
        if found is None or found[0] != version:
            return None
        self._items.move_to_end(session)
        return found[1]

    def put(self, session: str, version: object, value: T) -> T:
        self._items[session] = (version, value)
        self._items.move_to_end(session)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()


class SessionRows:
    """One document per session in `table` of `database`."""

    def __init__(self, database: Database, table: str, size: int = MAX_SESSIONS) -> None:
        self._database = database
        self._table = table
        self._size = size

    def _exists(self, db: sqlite3.Connection) -> bool:
        found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self._table,))
        return found.fetchone() is not None

    def read(self, session: str, db: sqlite3.Connection | None = None) -> str | None:
        """The session's document (None: none kept), in the caller's transaction when `db` is given."""
        if db is None:
            with self._database.reading as reading:
                return self.read(session, reading)
        if not self._exists(db):
            return None
        row = db.execute(f"SELECT doc FROM {self._table} WHERE session = ?", (session,)).fetchone()
        return None if row is None else str(row[0])

    def write(self, db: sqlite3.Connection, session: str, doc: str | None) -> None:
        """Replace (None: delete) the session's document in the caller's transaction; the oldest
        sessions' rows beyond the bound go."""
        if doc is None:
            if self._exists(db):
                db.execute(f"DELETE FROM {self._table} WHERE session = ?", (session,))
            return
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {self._table} "
            "(session TEXT PRIMARY KEY, doc TEXT NOT NULL, touched INTEGER NOT NULL)"
        )
        db.execute(
            f"INSERT OR REPLACE INTO {self._table} (session, doc, touched) "
            f"VALUES (?, ?, (SELECT coalesce(MAX(touched), 0) + 1 FROM {self._table}))",
            (session, doc),
        )
        db.execute(
            f"DELETE FROM {self._table} WHERE touched <= (SELECT MAX(touched) FROM {self._table}) - ?",
            (self._size,),
        )


class SignalledDocuments(Generic[T]):
    """A document per session in a SQLite store, as this process last read it, read again only when the
    signal file beside the store (`<store>-<name>`, state/signal.py) says that it changed: a request
    costs a stat(), not a read transaction. `read_default` reads the default session's row (where it
    always was); the other sessions' are `rows`."""

    def __init__(
        self,
        database: Database,
        name: str,
        table: str,
        decode: Callable[[str | None], T],
        read_default: Callable[[sqlite3.Connection], str | None],
    ) -> None:
        self._database = database
        self._name = name
        key = database.key
        self.signal = SignalFile(None if key == ":memory:" else f"{key}-{name}")
        self.rows = SessionRows(database, table)
        self._decode = decode
        self._read_default = read_default
        self._seen: tuple[int, int, int] | None = None  # the signal's version at the last read; None: read
        self._current = decode(None)
        self._cached: SessionCache[T] = SessionCache()

    def get(self, session: str) -> T:
        version = self.signal.version()  # before the read: a change after it shows next time
        if session:
            cached = self._cached.get(session, version)
            if cached is not None:
                return cached
            return self._cached.put(session, version, self._decode(self.rows.read(session)))
        if version == self._seen:
            return self._current
        with self._database.reading as db:
            doc = self._read_default(db)
        self._current, self._seen = self._decode(doc), version
        return self._current

    def changed(self) -> None:
        """Signal a change, after it is committed: every reader's next `get` reads it again."""
        self._seen = None
        self._cached.clear()
        try:
            self.signal.touch()
        except OSError as error:
            why = f"its {self._name} signal file {self.signal.path!r} cannot be written: {error.strerror}"
            raise StoreError(repr(self._database.key), why) from None
