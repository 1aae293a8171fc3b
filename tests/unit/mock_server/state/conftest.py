"""Job stores for the contract suite: `open_store()` opens one more on the backend under test (the
`store_backend` fixture of tests/conftest.py: SQLite, then Redis), as another process would."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mock_server.settings import Settings
from mock_server.state.jobs import JobStore
from mock_server.state.redis.connection import Keys, connect
from mock_server.state.redis.job_store import RedisJobStore
from mock_server.state.redis.urls import is_redis_url
from mock_server.state.sqlite_store import SQLiteJobStore
from tests.conftest import closing_all

StoreOpener = Callable[..., JobStore]


@pytest.fixture
def open_store(backend_settings: Settings) -> Iterator[StoreOpener]:
    """`open_store(id_block=4)` shares the state of every other; `elsewhere=True` opens an unrelated store
    (another file, another key prefix)."""
    location = backend_settings.store

    def open_one(id_block: int = 64, ttl_s: float = 86400.0, *, elsewhere: bool = False) -> JobStore:
        if is_redis_url(location):
            prefix = backend_settings.store_prefix + (":elsewhere" if elsewhere else "")
            return RedisJobStore(
                connect(location), Keys(prefix), ttl_s=ttl_s, store_url=location, id_block=id_block
            )
        return SQLiteJobStore(location + ("-elsewhere" if elsewhere else ""), id_block=id_block)

    yield from closing_all(open_one, lambda store: store.close())


@pytest.fixture
def store(open_store: StoreOpener) -> JobStore:
    return open_store()


@pytest.fixture
def other(open_store: StoreOpener) -> JobStore:
    """A second process's view of the same store."""
    return open_store()
