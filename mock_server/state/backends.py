"""Choosing where state lives, by the `--store` value: a SQLite file (or `:memory:`), or a Redis URL.

Both backends give the same parts behind the same interfaces: jobs (with their engine work and its
leases), webhook deliveries, the request journal, run-time defaults and rules. Redis adds the registry of
live `mixmock worker` processes that a `--engine remote` replica's eta counts on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server.services.defaults import DefaultsStore, SQLiteDefaults
from mock_server.services.deliveries import DeliveryStore, SQLiteDeliveries
from mock_server.services.journal import Journal, SQLiteJournal
from mock_server.services.rules import RulesStore, SQLiteRules
from mock_server.settings import Settings
from mock_server.state import launch_store
from mock_server.state.jobs import JobStore, StoreError
from mock_server.state.launch_store import LaunchHold
from mock_server.state.redis.urls import is_redis_url
from mock_server.state.sqlite_store import SQLiteJobStore

if TYPE_CHECKING:
    from mock_server.state.redis.engine_workers import RedisEngineWorkers

__all__ = ["Backend", "open_backend"]


@dataclass(frozen=True)
class Backend:
    jobs: JobStore
    deliveries: DeliveryStore
    journal: Journal
    defaults: DefaultsStore
    rules: RulesStore
    workers: RedisEngineWorkers | None = None  # who renders engine work, and how fast; Redis only
    launch: LaunchHold | None = None  # this process's hold on a per-launch store (removed on the last stop)

    async def aclose(self) -> None:
        """Close what belongs to the event loop (the Redis store's asyncio client), then the rest."""
        await self.jobs.aclose()
        self.close()

    def close(self) -> None:
        """Close every part, the store last; the first StoreError (a journal that cannot be flushed)
        is raised once all are closed."""
        try:
            _close_all(
                [self.deliveries, self.journal, self.defaults, self.rules, self.jobs]
            )  # workers share it
        finally:
            if self.launch is not None:
                self.launch.release()


def _close_all(parts: Sequence[Any]) -> None:
    failure: StoreError | None = None
    for part in parts:
        try:
            part.close()
        except StoreError as error:
            failure = failure or error
    if failure is not None:
        raise failure


def open_backend(settings: Settings) -> Backend:
    """The state parts for `settings.store`. A SQLite file is opened now (StoreError naming the path when
    it cannot be); Redis connects on first use (an outage then is `/ready`'s to report)."""
    if is_redis_url(settings.store):
        return _redis_backend(settings)
    path = settings.store
    launch = launch_store.hold(path)  # before the file exists: a sweep never takes a store being opened
    opened: list[Any] = []
    try:
        for make in (
            lambda: SQLiteJobStore(path),
            lambda: SQLiteDeliveries(path),
            lambda: SQLiteJournal(path, max_entries=settings.journal_size, max_bytes=settings.journal_bytes),
            lambda: SQLiteDefaults(path),
            lambda: SQLiteRules(path),
        ):
            opened.append(make())
    except BaseException:
        with contextlib.suppress(StoreError):
            _close_all(opened[::-1])
        if launch is not None:
            launch.release()
        raise
    jobs, deliveries, journal, defaults, rules = opened
    return Backend(
        jobs=jobs, deliveries=deliveries, journal=journal, defaults=defaults, rules=rules, launch=launch
    )


def _redis_backend(settings: Settings) -> Backend:
    # Imported here: a SQLite-only mock never loads the Redis client.
    from mock_server.state.redis.connection import Keys, connect
    from mock_server.state.redis.defaults import RedisDefaults
    from mock_server.state.redis.deliveries import RedisDeliveries
    from mock_server.state.redis.engine_workers import RedisEngineWorkers
    from mock_server.state.redis.job_store import RedisJobStore
    from mock_server.state.redis.journal import RedisJournal
    from mock_server.state.redis.rules import RedisRules

    url, keys = settings.store, Keys(settings.store_prefix)
    client = connect(url)
    return Backend(
        jobs=RedisJobStore(client, keys, ttl_s=settings.job_ttl_s, store_url=url),
        deliveries=RedisDeliveries(client, keys, store_url=url),
        journal=RedisJournal(
            client, keys, max_entries=settings.journal_size, max_bytes=settings.journal_bytes, store_url=url
        ),
        defaults=RedisDefaults(client, keys, store_url=url, ttl_s=settings.job_ttl_s),
        rules=RedisRules(client, keys, store_url=url, ttl_s=settings.job_ttl_s),
        workers=RedisEngineWorkers(client, keys, lease_s=settings.engine_lease_s, store_url=url),
    )
