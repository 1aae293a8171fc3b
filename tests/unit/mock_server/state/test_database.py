"""One SQLite connection per store file and process: shared by path, closed with its last user."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mock_server.state.database import close_database, open_database
from mock_server.state.jobs import StoreError

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def test_one_file_gets_one_connection_whatever_the_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = open_database("jobs.sqlite3")
    second = open_database(str(tmp_path / "jobs.sqlite3"))
    assert second is first
    assert first.users == 2
    close_database(second)
    close_database(first)


def test_the_connection_closes_with_its_last_user(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite3")
    first, second = open_database(path), open_database(path)
    close_database(first)
    first.connection.execute("SELECT 1")  # still open for the second user
    close_database(second)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        first.connection.execute("SELECT 1")
    reopened = open_database(path)
    assert reopened is not first  # a later open starts a new connection
    close_database(reopened)


def test_in_memory_databases_are_never_shared() -> None:
    first, second = open_database(":memory:"), open_database(":memory:")
    assert first.connection is not second.connection
    close_database(first)
    close_database(second)


def test_a_file_database_uses_wal(tmp_path: Path) -> None:
    database = open_database(str(tmp_path / "nested" / "jobs.sqlite3"))
    (mode,) = database.connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    close_database(database)


def test_a_write_that_changes_nothing_does_not_end_a_failure(tmp_path: Path) -> None:
    """An idle background round (a claim of no due delivery) is no sign that a full store works again."""
    database = open_database(str(tmp_path / "store.sqlite3"))
    try:
        with database.writing as db:
            db.execute("CREATE TABLE t (x INTEGER)")
        database.connection.execute("PRAGMA query_only = ON")
        with pytest.raises(StoreError), database.writing as db:
            db.execute("INSERT INTO t VALUES (1)")
        database.connection.execute("PRAGMA query_only = OFF")
        with database.writing as db:
            db.execute("UPDATE t SET x = 2 WHERE x = 1")  # no row: nothing written
        assert database.health() is not None
        with database.writing as db:
            db.execute("INSERT INTO t VALUES (3)")  # a real write: the store works again
        assert database.health() is None
    finally:
        close_database(database)
