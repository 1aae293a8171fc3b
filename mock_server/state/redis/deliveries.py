"""Webhook deliveries and their attempt log on Redis: one record per job, claimed with a lease.

Keys (under the prefix):
    delivery:<job id>   hash: state, next_at, doc (the delivery with every attempt)
    deliveries:due      sorted set: pending deliveries by next_at (what `claim_due` takes)
    deliveries          sorted set: every delivery by created_at (the log, `purge`)

`claim_due` is one script: the due deliveries it returns have their next_at moved past the lease in the
same step, so two replicas never send the same delivery while the lease runs, and a delivery whose
claimer died is due again when the lease runs out, for any replica to send.
"""

from __future__ import annotations

from typing import Any

import redis

from mock_server.services.deliveries import (
    Attempt,
    Delivery,
    DeliveryState,
    decode_delivery,
    encode_delivery,
)
from mock_server.state.redis.connection import Keys, guarded, shown

__all__ = ["RedisDeliveries"]

_BATCH = 500

# KEYS: delivery, due, log. ARGV: job id, state, next_at, doc, created_at.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'next_at', ARGV[3], 'doc', ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
  if ARGV[2] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
end
return redis.call('HMGET', KEYS[1], 'state', 'next_at', 'doc')
"""

# KEYS: delivery, due. ARGV: job id, state, next_at, doc.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'next_at', ARGV[3], 'doc', ARGV[4])
if ARGV[2] == 'pending' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
"""

# KEYS: delivery, due. ARGV: job id, now.
_HASTEN = """
local found = redis.call('HMGET', KEYS[1], 'state', 'next_at')
if found[1] ~= 'pending' or tonumber(found[2]) <= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'next_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: due. ARGV: now, lease until, limit, the key prefix.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. ':delivery:' .. id
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  redis.call('HSET', key, 'next_at', ARGV[2])
  local found = redis.call('HMGET', key, 'state', 'next_at', 'doc')
  if found[3] then
    table.insert(claimed, {id, found[1], found[2], found[3]})
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimed
"""

# KEYS: log, due. ARGV: before, batch, the key prefix, 1 to keep pending ones. Returns {seen, deleted}.
_PURGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local deleted = 0
for _, id in ipairs(ids) do
  local key = ARGV[3] .. ':delivery:' .. id
  if ARGV[4] ~= '1' or redis.call('HGET', key, 'state') ~= 'pending' then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    deleted = deleted + 1
  end
end
return {#ids, deleted}
"""


class RedisDeliveries:
    def __init__(self, client: redis.Redis, keys: Keys, store_url: str = "") -> None:
        self.store_url = shown(store_url) if store_url else "redis"
        self._redis: Any = client
        self._keys = keys
        self._add = self._redis.register_script(_ADD)
        self._update = self._redis.register_script(_UPDATE)
        self._hasten = self._redis.register_script(_HASTEN)
        self._claim = self._redis.register_script(_CLAIM)
        self._purge = self._redis.register_script(_PURGE)

    def _key(self, job_id: int | bytes) -> str:
        return self._keys("delivery", int(job_id))

    @guarded
    def add(
        self,
        job_id: int,
        url: str,
        *,
        created_at: float,
        next_at: float,
        state: DeliveryState,
        attempt: Attempt | None = None,
    ) -> Delivery:
        draft = Delivery(job_id, job_id, url, state, next_at, created_at, (attempt,) if attempt else ())
        keys = [self._key(job_id), self._keys("deliveries:due"), self._keys("deliveries")]
        args = [job_id, state, repr(next_at), encode_delivery(draft), repr(created_at)]
        found_state, found_next, doc = self._add(keys=keys, args=args)
        return decode_delivery(job_id, found_state.decode(), float(found_next), doc)

    @guarded
    def update(self, delivery: Delivery) -> None:
        keys = [self._key(delivery.job_id), self._keys("deliveries:due")]
        args = [delivery.job_id, delivery.state, repr(delivery.next_at), encode_delivery(delivery)]
        self._update(keys=keys, args=args)

    @guarded
    def hasten(self, job_id: int, now: float) -> bool:
        keys = [self._key(job_id), self._keys("deliveries:due")]
        return bool(self._hasten(keys=keys, args=[job_id, repr(now)]))

    @guarded
    def claim_due(self, now: float, lease_s: float, limit: int = 64) -> list[Delivery]:
        args: list[str | int] = [repr(now), repr(now + lease_s), limit, self._keys.prefix]
        rows = self._claim(keys=[self._keys("deliveries:due")], args=args)
        return [decode_delivery(int(row[0]), row[1].decode(), float(row[2]), row[3]) for row in rows]

    @guarded
    def for_job(self, job_id: int) -> Delivery | None:
        state, next_at, doc = self._redis.hmget(self._key(job_id), ["state", "next_at", "doc"])
        return None if doc is None else decode_delivery(job_id, state.decode(), float(next_at), doc)

    @guarded
    def all(self, state: DeliveryState | None = None, limit: int = 1000) -> list[Delivery]:
        """The newest `limit` deliveries (in `state`), oldest first; read a page at a time."""
        found: list[Delivery] = []
        start = 0
        while len(found) < limit:
            ids = self._redis.zrevrange(self._keys("deliveries"), start, start + _BATCH - 1)
            if not ids:
                break
            with self._redis.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hmget(self._key(job_id), ["state", "next_at", "doc"])
                rows = pipe.execute()
            for job_id, (row_state, next_at, doc) in zip(ids, rows, strict=True):
                if doc is not None and (state is None or row_state.decode() == state):
                    found.append(decode_delivery(int(job_id), row_state.decode(), float(next_at), doc))
            start += _BATCH
        return list(reversed(found[:limit]))

    def _purge_all(self, before: str, keep_pending: bool) -> int:
        deleted = 0
        keys = [self._keys("deliveries"), self._keys("deliveries:due")]
        while True:
            args: list[str | int] = [before, _BATCH, self._keys.prefix, int(keep_pending)]
            seen, gone = self._purge(keys=keys, args=args)
            deleted += int(gone)
            if int(seen) < _BATCH or int(gone) == 0:
                return deleted

    @guarded
    def purge(self, before: float) -> int:
        return self._purge_all(repr(before), keep_pending=True)

    @guarded
    def clear(self) -> None:
        self._purge_all("+inf", keep_pending=False)

    def close(self) -> None:
        self._redis.close()
