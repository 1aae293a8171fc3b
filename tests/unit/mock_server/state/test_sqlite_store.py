"""What only the SQLite job store does (the contract every store keeps: test_job_store_contract.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from mock_server.state.jobs import Job
from mock_server.state.sqlite_store import SQLiteJobStore
from tests.unit.mock_server.state.jobs_fixtures import make_job

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def test_ids_continue_after_a_store_file_without_id_blocks(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite3")
    legacy = sqlite3.connect(path)
    legacy.execute(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, file_prefix TEXT UNIQUE, "
        "doc TEXT NOT NULL, polls INTEGER NOT NULL DEFAULT 0)"
    )
    legacy.execute("INSERT INTO jobs (id, doc) VALUES (41, '')")
    legacy.commit()
    legacy.close()
    store = SQLiteJobStore(path)
    assert store.create(make_job).id == 42
    store.close()


def test_a_grouped_create_whose_write_fails_raises() -> None:
    store = SQLiteJobStore(":memory:")
    store.create(lambda job_id: make_job(job_id, file_prefix="taken"))

    async def clash() -> Job:
        try:
            return await store.create_grouped(lambda job_id: make_job(job_id, file_prefix="taken"))
        finally:
            await store.aclose()

    with pytest.raises(sqlite3.IntegrityError, match="file_prefix"):
        asyncio.run(clash())
