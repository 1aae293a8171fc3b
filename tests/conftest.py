"""Fixtures shared across suites: mock settings, an in-process client of the mock, a real redis-server,
and the store backends that the contract suites run against."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
import redis

from mock_server.access_log import ACCESS_LOG
from mock_server.app import create_app
from mock_server.engines.base import Engine
from mock_server.settings import Settings
from mock_server.state.backends import Backend, open_backend
from mock_server.state.clock import Clock, ManualClock
from mock_server.state.database import close_database, open_database
from mock_server.state.redis.urls import is_redis_url
from mock_server.tooling.redis_server import Persistence, RedisServer, redis_binary, redis_server
from mock_server.tooling.testing import InProcessClient, in_process

ClientFactory = Callable[..., AbstractContextManager[InProcessClient]]
P = ParamSpec("P")
T = TypeVar("T")


def closing_all(open_one: Callable[P, T], close: Callable[[T], object]) -> Iterator[Callable[P, T]]:
    """The body of an opener fixture: yields `open_one`, and once the test is over closes, in order, all
    that it opened."""
    opened: list[T] = []

    def opener(*args: P.args, **kwargs: P.kwargs) -> T:
        thing = open_one(*args, **kwargs)
        opened.append(thing)
        return thing

    yield opener
    for thing in opened:
        close(thing)


@pytest.fixture(autouse=True)
def _access_lines_stay_with_their_test() -> Iterator[None]:
    """Apps built with the default settings log each request; write those lines while pytest captures."""
    yield
    ACCESS_LOG.flush()


@pytest.fixture
def strict_settings() -> Settings:
    """An in-memory store and strict mode: a reply that breaks the spec fails the test."""
    return Settings(store=":memory:", strict=True)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def mock_client(strict_settings: Settings, clock: ManualClock) -> ClientFactory:
    """`with mock_client(profile="observed") as client:` — the app in-process, settings overridden."""

    @contextmanager
    def make(
        *, engine: Engine | None = None, clock_: Clock | None = None, **overrides: Any
    ) -> Iterator[InProcessClient]:
        app = create_app(replace(strict_settings, **overrides), engine=engine, clock=clock_ or clock)
        with in_process(app, base_url="http://mock.test") as client:
            yield client

    return make


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server (Debian's package) for the session, on a free loopback port, stopped at the end.

    Tests keep apart by key prefix (`redis_prefix`), not by flushing: that also checks the prefixes.
    """
    if redis_binary() is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server); .ci/run installs it")
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own on the shared redis-server."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """`redis_factory(persistence="aof")`: a redis-server of this test's own (to restart or kill)."""
    if redis_binary() is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server); .ci/run installs it")
    numbers = itertools.count()

    def start(persistence: Persistence = "none") -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{next(numbers)}", persistence)
        server.start()
        return server

    yield from closing_all(start, lambda server: server.stop())


STORE_BACKENDS = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]
StateOpener = Callable[..., Backend]


@pytest.fixture(params=STORE_BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> str:
    """Each store backend in turn: the contract suites run every test against SQLite and Redis."""
    name: str = request.param
    return name


@pytest.fixture
def backend_settings(store_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose store is the backend under test (a file, or Redis under a prefix of this test's own)."""
    if store_backend == "sqlite":
        return Settings(store=str(tmp_path / "jobs.sqlite3"), access_log=False)
    server: RedisServer = request.getfixturevalue("redis_service")
    prefix: str = request.getfixturevalue("redis_prefix")
    return Settings(store=server.url, store_prefix=prefix, access_log=False)


@pytest.fixture
def open_state(backend_settings: Settings) -> Iterator[StateOpener]:
    """`open_state(journal_size=5)` opens one more view of the same state, as another process would."""

    def open_one(**overrides: Any) -> Backend:
        return open_backend(replace(backend_settings, **overrides))

    yield from closing_all(open_one, lambda backend: backend.close())


@pytest.fixture
def break_writes(backend_settings: Settings, request: pytest.FixtureRequest) -> Iterator[Callable[[], None]]:
    """`break_writes()`: from then on until the test ends, every write to the backend under test fails the
    way a store in trouble refuses it (SQLite: a read-only file, SQLITE_READONLY; Redis: out of memory, OOM).
    """
    undo: list[Callable[[], None]] = []

    def sqlite() -> None:
        database = open_database(backend_settings.store)  # this process's shared connection to the file
        with database.lock:
            database.connection.execute("PRAGMA query_only = ON")

        def restore() -> None:
            with database.lock:
                database.connection.execute("PRAGMA query_only = OFF")
            close_database(database)

        undo.append(restore)

    def redis_store() -> None:
        client = redis.Redis.from_url(backend_settings.store)
        before = {name: str(value) for name, value in client.config_get("maxmemory*").items()}
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", 1)

        def restore() -> None:
            for name in ("maxmemory", "maxmemory-policy"):
                client.config_set(name, before[name])
            client.close()

        undo.append(restore)

    yield redis_store if is_redis_url(backend_settings.store) else sqlite
    for restore in reversed(undo):
        restore()
