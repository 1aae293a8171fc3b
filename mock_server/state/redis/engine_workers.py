"""Who renders a Redis store's engine work, and how fast: what the eta of a `--engine remote` replica needs.

Engine work itself (jobs still to render, their leases, resuming a dead worker's jobs) is the job store's
(`job_store.py`: `claim_engine_job`, `unfinished_engine_jobs`, `release_engine_job`), the same mechanism
for an in-process engine and for `mixmock worker`. This registry only adds, under the prefix:
    engine:workers    sorted set: worker -> its last sign of life (how many share the work)
    engine:job_s      seconds one job takes on a worker, as the workers measure it (a moving average)
"""

from __future__ import annotations

from typing import Any

import redis

from mock_server.state.redis.connection import Keys, guarded, shown
from mock_server.state.redis.job_store import ENGINE_LEASED, ENGINE_UNCLAIMED

__all__ = ["QueueState", "RedisEngineWorkers"]


class QueueState:
    """What the eta needs: jobs waiting or rendering, live workers, seconds per job (None: not measured)."""

    def __init__(self, waiting: int, rendering: int, workers: int, job_s: float | None) -> None:
        self.waiting = waiting
        self.rendering = rendering
        self.workers = workers
        self.job_s = job_s

    def eta(self, fallback_job_s: float) -> float:
        """Seconds until a job accepted now is done: the work ahead shared by the live workers, plus its
        own."""
        job_s = self.job_s if self.job_s is not None else fallback_job_s
        ahead = self.waiting + self.rendering
        return job_s * (1 + ahead / max(1, self.workers))


class RedisEngineWorkers:
    def __init__(self, client: redis.Redis, keys: Keys, *, lease_s: float, store_url: str = "") -> None:
        if lease_s <= 0:
            raise ValueError(f"lease_s must be more than 0 seconds, got {lease_s!r}")
        self.store_url = shown(store_url) if store_url else "redis"
        self.lease_s = lease_s  # a worker silent for this long no longer counts as live
        self._redis: Any = client
        self._unclaimed, self._leased = keys(ENGINE_UNCLAIMED), keys(ENGINE_LEASED)
        self._workers, self._job_s = keys("engine:workers"), keys("engine:job_s")

    @guarded
    def heartbeat(self, worker: str, now: float) -> None:
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._workers, {worker: now})
            pipe.zremrangebyscore(self._workers, "-inf", f"({now - 10 * self.lease_s!r}")
            pipe.execute()

    @guarded
    def leave(self, worker: str) -> None:
        self._redis.zrem(self._workers, worker)

    @guarded
    def record_job_seconds(self, seconds: float, weight: float = 0.3) -> None:
        """Fold one measured job time into the shared moving average."""
        previous = self._redis.get(self._job_s)
        value = seconds if previous is None else (1 - weight) * float(previous) + weight * seconds
        self._redis.set(self._job_s, repr(value))

    @guarded
    def state(self, now: float) -> QueueState:
        """Waiting: engine work nobody holds (unclaimed, given back, or its lease ran out); rendering: work
        under a running lease."""
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self._unclaimed)
            pipe.zcount(self._leased, "-inf", repr(now))
            pipe.zcount(self._leased, f"({now!r}", "+inf")
            pipe.zcount(self._workers, repr(now - self.lease_s), "+inf")
            pipe.get(self._job_s)
            unclaimed, free, rendering, workers, job_s = pipe.execute()
        waiting = int(unclaimed) + int(free)
        return QueueState(waiting, int(rendering), int(workers), None if job_s is None else float(job_s))

    def close(self) -> None:
        self._redis.close()
