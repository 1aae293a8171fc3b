"""The engine queue on Redis: API replicas enqueue engine jobs, engine workers take them under a lease.

Keys (under the prefix):
    engine:queue      list of job ids waiting, oldest first
    engine:leased     sorted set: job id -> when its lease runs out
    engine:owners     hash: job id -> the worker holding it
    engine:workers    sorted set: worker -> its last sign of life (for the eta: how many share the queue)
    engine:job_s      seconds one job takes on a worker, as the workers measure it (a moving average)

A worker claims jobs with one script that first puts every job whose lease ran out back at the head of
the queue (its worker died or hung), then moves up to `limit` ids into its lease. While it renders it
renews the leases; when it has written a job's result it drops the lease. A job is thus rendered by one
worker at a time, and a job whose worker dies is rendered again by another once the lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from mock_server.state.redis.connection import Keys, guarded, shown

__all__ = ["QueueState", "RedisEngineQueue"]

# KEYS: queue, leased, owners. ARGV: now, lease until, limit, worker.
_CLAIM = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for i = #expired, 1, -1 do
  redis.call('LPUSH', KEYS[1], expired[i])
  redis.call('ZREM', KEYS[2], expired[i])
  redis.call('HDEL', KEYS[3], expired[i])
end
local claimed = {}
for _ = 1, tonumber(ARGV[3]) do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  redis.call('ZADD', KEYS[2], ARGV[2], id)
  redis.call('HSET', KEYS[3], id, ARGV[4])
  table.insert(claimed, id)
end
return claimed
"""

# KEYS: leased, owners. ARGV: lease until, worker, ids... Renews the leases this worker still holds.
_RENEW = """
local renewed = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[2] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[i])
    renewed = renewed + 1
  end
end
return renewed
"""

# KEYS: queue, leased, owners. ARGV: worker, requeue (1/0), ids... Drops this worker's leases; with
# requeue, the jobs go back to the head of the queue (a worker stopping without finishing them).
_RELEASE = """
for i = #ARGV, 3, -1 do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[1] then
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
    if ARGV[2] == '1' then redis.call('LPUSH', KEYS[1], ARGV[i]) end
  end
end
return 1
"""


class QueueState:
    """What the eta needs: jobs waiting or rendering, live workers, seconds per job (None: not measured)."""

    def __init__(self, waiting: int, rendering: int, workers: int, job_s: float | None) -> None:
        self.waiting = waiting
        self.rendering = rendering
        self.workers = workers
        self.job_s = job_s

    def eta(self, fallback_job_s: float) -> float:
        """Seconds until a job enqueued now is done: the work ahead shared by the live workers, plus its
        own."""
        job_s = self.job_s if self.job_s is not None else fallback_job_s
        ahead = self.waiting + self.rendering
        return job_s * (1 + ahead / max(1, self.workers))


class RedisEngineQueue:
    def __init__(self, client: redis.Redis, keys: Keys, *, lease_s: float, store_url: str = "") -> None:
        if lease_s <= 0:
            raise ValueError(f"lease_s must be more than 0 seconds, got {lease_s!r}")
        self.store_url = shown(store_url) if store_url else "redis"
        self.lease_s = lease_s
        self._redis: Any = client
        self._queue, self._leased = keys("engine:queue"), keys("engine:leased")
        self._owners, self._workers, self._job_s = (
            keys("engine:owners"),
            keys("engine:workers"),
            keys("engine:job_s"),
        )
        self._claim = self._redis.register_script(_CLAIM)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)

    @guarded
    def enqueue(self, job_id: int) -> None:
        self._redis.rpush(self._queue, job_id)

    @guarded
    def claim(self, worker: str, limit: int, now: float) -> list[int]:
        """Up to `limit` job ids, oldest first, leased to `worker` for `lease_s` seconds."""
        keys = [self._queue, self._leased, self._owners]
        ids = self._claim(keys=keys, args=[repr(now), repr(now + self.lease_s), limit, worker])
        return [int(job_id) for job_id in ids]

    @guarded
    def renew(self, worker: str, job_ids: Sequence[int], now: float) -> int:
        """Extend the leases `worker` still holds; returns how many it holds."""
        if not job_ids:
            return 0
        return int(
            self._renew(keys=[self._leased, self._owners], args=[repr(now + self.lease_s), worker, *job_ids])
        )

    @guarded
    def done(self, worker: str, job_ids: Sequence[int]) -> None:
        """The jobs' results are written: drop their leases."""
        if job_ids:
            self._release(keys=[self._queue, self._leased, self._owners], args=[worker, 0, *job_ids])

    @guarded
    def give_back(self, worker: str, job_ids: Sequence[int]) -> None:
        """A stopping worker's unfinished jobs go back to the head of the queue for another worker."""
        if job_ids:
            self._release(keys=[self._queue, self._leased, self._owners], args=[worker, 1, *job_ids])

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
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.llen(self._queue)
            pipe.zcard(self._leased)
            pipe.zcount(self._workers, repr(now - self.lease_s), "+inf")
            pipe.get(self._job_s)
            waiting, rendering, workers, job_s = pipe.execute()
        return QueueState(int(waiting), int(rendering), int(workers), None if job_s is None else float(job_s))

    def close(self) -> None:
        self._redis.close()
