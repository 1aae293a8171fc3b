"""One SQLite connection per store file and process, shared by every table kept in that file.

Jobs, the request journal, the scenario defaults and the webhook log live in one file. A connection
must drop its page cache whenever another connection has written to the file, so with one connection
per table every per-request read started cold after each job write. One shared connection (and one
lock, which also keeps one table's transaction from interleaving with another's) keeps it warm.
Other processes still use their own connections: the file is what they share.

Every access goes through `reading`, `writing` or `transaction`: a SQLite error (a full disk, a file
that is not a database, a folder that cannot be written) leaves as `StoreError` naming the file, and is
remembered for `health` until a write succeeds again.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mock_server.state.jobs import StoreError

__all__ = ["FAILURE_MEMORY_S", "Database", "check_store", "close_database", "open_database"]

FAILURE_MEMORY_S = 30.0  # a failed access keeps the store "not ready" this long, unless a write succeeds
_HEALTH_TABLE = "CREATE TABLE IF NOT EXISTS store_health (id INTEGER PRIMARY KEY, checked_at REAL NOT NULL)"
_PROBE = "INSERT OR REPLACE INTO store_health (id, checked_at) VALUES (1, ?)"
_CALLERS_FAULT = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


class _Access:
    """`with database.reading as db:` — the connection under the lock; a SQLite error leaves as
    StoreError (and is remembered), a write that succeeds and changes rows clears what was remembered
    (one that changes nothing, an idle background claim, proves nothing about a full disk).

    A class rather than a generator: it runs around every store call (twice per request or more).
    """

    __slots__ = ("_database", "_write")

    def __init__(self, database: Database, *, write: bool) -> None:
        self._database = database
        self._write = write

    def __enter__(self) -> sqlite3.Connection:
        self._database.lock.acquire()
        return self._database.connection

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: object) -> None:
        database = self._database
        try:
            if error is None:
                changes = database.connection.total_changes
                if self._write and changes != database.changes_seen:  # a write that wrote something
                    database.failure = None
                database.changes_seen = changes
                return
            database._roll_back()
            database.changes_seen = database.connection.total_changes  # rolled back: proves nothing
            if isinstance(error, sqlite3.Error) and not isinstance(error, _CALLERS_FAULT):
                database.failure, database.failed_at = str(error), time.monotonic()
                raise StoreError(repr(database.key), str(error)) from error
        finally:
            database.lock.release()


@dataclass
class Database:
    key: str  # the absolute path, or ":memory:"
    connection: sqlite3.Connection
    lock: threading.RLock
    users: int = 1
    failure: str | None = None  # why the last access failed, until a write succeeds again
    failed_at: float = 0.0  # time.monotonic() of that failure
    changes_seen: int = (
        0  # the connection's total_changes after the last access (a no-op write clears nothing)
    )
    reading: _Access = field(init=False, repr=False)  # `with database.reading as db:` for reads
    writing: _Access = field(init=False, repr=False)  # ... for one or a few autocommitted statements

    def __post_init__(self) -> None:
        self.reading = _Access(self, write=False)
        self.writing = _Access(self, write=True)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back when the block or the commit fails."""
        with self.writing as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                self._roll_back()
                raise

    def _roll_back(self) -> None:
        if self.connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # a failed rollback leaves nothing more to undo
                self.connection.execute("ROLLBACK")

    def health(self) -> str | None:
        """Why the store cannot be used now, or None.

        A failed access counts for FAILURE_MEMORY_S (or until a write succeeds); otherwise a probe writes
        one row, so a store that went read-only or full since the last request still shows.
        """
        if self.failure is not None and time.monotonic() - self.failed_at < FAILURE_MEMORY_S:
            return self.failure
        try:
            with self.writing as db:
                db.execute(_PROBE, (time.time(),))
        except StoreError:
            return self.failure
        return None


_OPEN: dict[str, Database] = {}
_GUARD = threading.Lock()


def _connect(key: str) -> Database:
    if key != ":memory:":
        folder = Path(key).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                repr(key), f"its folder {str(folder)!r} cannot be created: {error.strerror}"
            ) from None
        if os.path.isdir(key):
            raise StoreError(repr(key), "it is a folder; name a file in it")
    try:
        connection = sqlite3.connect(key, timeout=10.0, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreError(repr(key), f"it cannot be opened: {error}") from None
    try:
        if key != ":memory:":
            connection.execute("PRAGMA journal_mode=WAL")
            # No fsync: the store outlives the mock process, not the machine; a mock needs no more.
            connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute(_HEALTH_TABLE)
    except sqlite3.Error as error:
        connection.close()
        raise StoreError(repr(key), f"it cannot be used: {error}") from None
    return Database(key, connection, threading.RLock())


def open_database(path: str) -> Database:
    """The process's connection to the file at `path` (opened on first use); `:memory:` is never shared.

    Raises StoreError naming the path when the file cannot be opened as a SQLite store.
    """
    if path == ":memory:":
        return _connect(path)
    key = os.path.abspath(path)
    with _GUARD:
        database = _OPEN.get(key)
        if database is None:
            database = _OPEN[key] = _connect(key)
        else:
            database.users += 1
        return database


def close_database(database: Database) -> None:
    """Give back one use; the connection closes with the last one."""
    with _GUARD:
        database.users -= 1
        if database.users > 0:
            return
        if _OPEN.get(database.key) is database:
            del _OPEN[database.key]
    with database.lock:
        database.connection.close()


def check_store(path: str) -> None:
    """Open the store at `path` and write to it once; StoreError naming the path and the reason if not."""
    if path == ":memory:":
        return
    database = open_database(path)
    try:
        why = database.health()
        if why is not None:
            raise StoreError(repr(database.key), f"it cannot be written: {why}")
    finally:
        close_database(database)
