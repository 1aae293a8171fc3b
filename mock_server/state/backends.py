"""Choosing where state lives, by the `--store` value: a SQLite file (or `:memory:`), or a Redis URL.

Both backends give the same parts behind the same interfaces: jobs, webhook deliveries, the request
journal, run-time defaults and rules. Redis adds the engine queue that `mixmock worker` processes take
jobs from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mock_server.services.defaults import DefaultsStore, SQLiteDefaults
from mock_server.services.deliveries import Deliveries, SQLiteDeliveries
from mock_server.services.journal import Journal, SQLiteJournal
from mock_server.services.rules import RulesStore, SQLiteRules
from mock_server.settings import Settings
from mock_server.state import launch_store
from mock_server.state.jobs import JobStore
from mock_server.state.launch_store import LaunchHold
from mock_server.state.redis.urls import is_redis_url
from mock_server.state.sqlite_store import SQLiteJobStore

if TYPE_CHECKING:
    from mock_server.state.redis.engine_queue import RedisEngineQueue

__all__ = ["Backend", "open_backend"]


@dataclass(frozen=True)
class Backend:
    jobs: JobStore
    deliveries: Deliveries
    journal: Journal
    defaults: DefaultsStore
    rules: RulesStore
    queue: RedisEngineQueue | None = None  # the engine queue; Redis only
    launch: LaunchHold | None = None  # this process's hold on a per-launch store (removed on the last stop)

    async def aclose(self) -> None:
        """Close what belongs to the event loop (the Redis store's asyncio client), then the rest."""
        await self.jobs.aclose()
        self.close()

    def close(self) -> None:
        for part in (self.deliveries, self.journal, self.defaults, self.rules, self.jobs):
            part.close()
        if self.launch is not None:
            self.launch.release()


def open_backend(settings: Settings) -> Backend:
    """The state parts for `settings.store`; nothing connects yet (Redis connects on first use)."""
    if is_redis_url(settings.store):
        return _redis_backend(settings)
    path = settings.store
    launch = launch_store.hold(path)  # before the file exists: a sweep never takes a store being opened
    try:
        return Backend(
            jobs=SQLiteJobStore(path),
            deliveries=SQLiteDeliveries(path),
            journal=SQLiteJournal(path, max_entries=settings.journal_size),
            defaults=SQLiteDefaults(path),
            rules=SQLiteRules(path),
            launch=launch,
        )
    except BaseException:
        if launch is not None:
            launch.release()
        raise


def _redis_backend(settings: Settings) -> Backend:
    # Imported here: a SQLite-only mock never loads the Redis client.
    from mock_server.state.redis.connection import Keys, connect
    from mock_server.state.redis.defaults import RedisDefaults
    from mock_server.state.redis.deliveries import RedisDeliveries
    from mock_server.state.redis.engine_queue import RedisEngineQueue
    from mock_server.state.redis.job_store import RedisJobStore
    from mock_server.state.redis.journal import RedisJournal
    from mock_server.state.redis.rules import RedisRules

    url, keys = settings.store, Keys(settings.store_prefix)
    client = connect(url)
    return Backend(
        jobs=RedisJobStore(client, keys, ttl_s=settings.job_ttl_s, store_url=url),
        deliveries=RedisDeliveries(client, keys, store_url=url),
        journal=RedisJournal(client, keys, max_entries=settings.journal_size, store_url=url),
        defaults=RedisDefaults(client, keys, store_url=url),
        rules=RedisRules(client, keys, store_url=url),
        queue=RedisEngineQueue(client, keys, lease_s=settings.engine_lease_s, store_url=url),
    )
