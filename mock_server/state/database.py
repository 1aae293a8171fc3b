"""One SQLite connection per store file and process, shared by every table kept in that file.

Jobs, the request journal, the scenario defaults and the webhook log live in one file. A connection
must drop its page cache whenever another connection has written to the file, so with one connection
per table every per-request read started cold after each job write. One shared connection (and one
lock, which also keeps one table's transaction from interleaving with another's) keeps it warm.
Other processes still use their own connections: the file is what they share.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Database", "close_database", "open_database"]


@dataclass
class Database:
    key: str  # the absolute path, or ":memory:"
    connection: sqlite3.Connection
    lock: threading.RLock
    users: int = 1


_OPEN: dict[str, Database] = {}
_GUARD = threading.Lock()


def _connect(key: str) -> Database:
    if key != ":memory:":
        Path(key).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(key, timeout=10.0, check_same_thread=False, isolation_level=None)
    if key != ":memory:":
        connection.execute("PRAGMA journal_mode=WAL")
        # No fsync: the store outlives the mock process, not the machine; a mock needs no more.
        connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA busy_timeout=10000")
    return Database(key, connection, threading.RLock())


def open_database(path: str) -> Database:
    """The process's connection to the file at `path` (opened on first use); `:memory:` is never shared."""
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
