"""One SQLite connection per store file and process: shared by path, closed with its last user."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mock_server.state.database import close_database, open_database

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
