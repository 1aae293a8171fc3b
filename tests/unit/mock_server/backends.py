"""The store backends the contract suites run against: today SQLite; a Redis backend adds one entry.

A `Backend` opens each store interface at a location (what several processes would share: a file, a
Redis key prefix...), and can make every write at that location fail, as a full disk would.
The suites take the `backend` fixture (`tests/unit/mock_server/conftest.py`), parametrized over BACKENDS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mock_server.services.defaults import DefaultsStore, SQLiteDefaults
from mock_server.services.deliveries import DeliveryStore, SQLiteDeliveries
from mock_server.services.journal import Journal, SQLiteJournal
from mock_server.state.database import open_database
from mock_server.state.jobs import JobStore
from mock_server.state.sqlite_store import SQLiteJobStore

__all__ = ["BACKENDS", "Backend"]


@dataclass(frozen=True)
class Backend:
    name: str
    location: Callable[[Path], str]  # a fresh place to keep a store, under a test's folder
    job_store: Callable[[str], JobStore]
    deliveries: Callable[[str], DeliveryStore]
    journal: Callable[..., Journal]  # (location, max_entries=..., max_bytes=..., trim_every=...)
    defaults: Callable[[str], DefaultsStore]
    break_writes: Callable[[str], None]  # from now on, writes at this location fail (a full disk...)


def _sqlite_break_writes(location: str) -> None:
    """Every later write through this process's connection to the file fails (SQLITE_READONLY)."""
    database = open_database(location)  # the process's shared connection to the file
    with database.lock:
        database.connection.execute("PRAGMA query_only = ON")


BACKENDS = {
    "sqlite": Backend(
        name="sqlite",
        location=lambda folder: str(folder / "store.sqlite3"),
        job_store=SQLiteJobStore,
        deliveries=SQLiteDeliveries,
        journal=SQLiteJournal,
        defaults=SQLiteDefaults,
        break_writes=_sqlite_break_writes,
    ),
}
