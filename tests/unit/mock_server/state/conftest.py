"""Stores of every backend for the contract suites: `open_store()` opens one more on the same state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mock_server.state.jobs import JobStore
from mock_server.state.redis.connection import Keys, connect
from mock_server.state.redis.job_store import RedisJobStore
from mock_server.state.sqlite_store import SQLiteJobStore
from mock_server.tooling.redis_server import RedisServer

StoreOpener = Callable[..., JobStore]
BACKENDS = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def open_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """Opens stores that share one state (one SQLite file, or one Redis under one key prefix)."""
    opened: list[JobStore] = []

    def open_one(id_block: int = 64, ttl_s: float = 86400.0) -> JobStore:
        store: JobStore
        if backend == "sqlite":
            store = SQLiteJobStore(str(tmp_path / "jobs.sqlite3"), id_block=id_block)
        else:
            server: RedisServer = request.getfixturevalue("redis_service")
            prefix: str = request.getfixturevalue("redis_prefix")
            store = RedisJobStore(
                connect(server.url), Keys(prefix), ttl_s=ttl_s, store_url=server.url, id_block=id_block
            )
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: StoreOpener) -> JobStore:
    return open_store()
