"""Webhook deliveries and their attempt log on Redis: one record per job, claimed under an owner's lease.

Keys (under the prefix):
    delivery:<job id>    hash: state, next_at, lease_owner, lease_until, doc (url, created_at...),
                         attempts (a JSON array), payload (JSON), finished_at
    deliveries:due       sorted set: pending deliveries by when one may be claimed (next_at, or the end
                         of the lease that holds it)
    deliveries           sorted set: every delivery by created_at (the log, `purge`)
    deliveries:by_id     sorted set: every delivery by id (admin pages, newest first)

The same guarantees as the SQLite table, each step one Lua script: `claim_due` leases each due delivery
to its owner token, so two replicas never send one delivery while the lease runs; `hasten` leaves a
leased delivery alone (its POST is in flight); `release` appends the attempt to the log whoever holds
the lease now, and writes the outcome and frees the delivery only for the holder. The attempt log grows
by string concatenation inside the script: the JSON that Python wrote is never decoded and re-encoded by
Redis (whose Lua JSON would turn `[]` into `{}` and round floats).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import redis

from mock_server.services.deliveries import (
    Delivery,
    DeliveryState,
    Turn,
    decode_delivery,
    encode_attempt,
    encode_delivery,
)
from mock_server.state.jobs import Page, Window
from mock_server.state.redis.connection import Keys, guarded, newest_ids, shown

__all__ = ["RedisDeliveries"]

_BATCH = 500
_FIELDS = ("state", "next_at", "doc", "attempts", "payload", "finished_at")

# KEYS: delivery, due, log, ids. ARGV: job id, state, next_at, doc, created_at, attempts.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'next_at', ARGV[3], 'doc', ARGV[4], 'attempts', ARGV[6],
    'lease_until', 0)
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
  redis.call('ZADD', KEYS[4], ARGV[1], ARGV[1])
  if ARGV[2] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
end
return redis.call('HMGET', KEYS[1], 'state', 'next_at', 'doc', 'attempts', 'payload', 'finished_at')
"""

# KEYS: delivery, due. ARGV: job id, now. Not while a lease holds it: its attempt is in flight.
_HASTEN = """
local found = redis.call('HMGET', KEYS[1], 'state', 'next_at', 'lease_until')
if found[1] ~= 'pending' or tonumber(found[2]) <= tonumber(ARGV[2]) then return 0 end
if tonumber(found[3] or 0) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'next_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: due. ARGV: now, lease until, limit, the key prefix, owner. A claimed delivery's place in `due`
# moves to the end of its lease: it is claimable again only if its holder never releases it.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. ':delivery:' .. id
  local found = redis.call('HMGET', key, 'state', 'next_at', 'doc', 'attempts', 'payload', 'finished_at',
    'lease_until')
  if found[1] ~= 'pending' or not found[3] then
    redis.call('ZREM', KEYS[1], id)
  elseif tonumber(found[2]) <= tonumber(ARGV[1]) and tonumber(found[7] or 0) <= tonumber(ARGV[1]) then
    redis.call('HSET', key, 'lease_owner', ARGV[5], 'lease_until', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(claimed, {id, found[1], found[2], found[3], found[4], found[5], found[6]})
  end
end
return claimed
"""

# KEYS: delivery, due. ARGV: job id, owner, state, next_at, attempt, payload, finished_at ("" for none).
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[5] ~= '' then
  local attempts = redis.call('HGET', KEYS[1], 'attempts') or '[]'
  if attempts == '[]' then attempts = '[' .. ARGV[5] .. ']'
  else attempts = string.sub(attempts, 1, -2) .. ',' .. ARGV[5] .. ']' end
  redis.call('HSET', KEYS[1], 'attempts', attempts)
end
if redis.call('HGET', KEYS[1], 'lease_owner') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'next_at', ARGV[4], 'lease_until', 0)
redis.call('HDEL', KEYS[1], 'lease_owner')
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'payload', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'finished_at', ARGV[7]) end
if ARGV[3] == 'pending' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
"""

# KEYS: log, due, ids. ARGV: before, batch, the key prefix, 1 to keep pending ones, how many older ones
# were kept already (skipped), 1 to delete only one session's, that session. Returns {seen, deleted}.
_PURGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', ARGV[5], tonumber(ARGV[2]))
local deleted = 0
local function in_session(key)
  if ARGV[6] ~= '1' then return true end
  local doc = redis.call('HGET', key, 'doc')
  local session = doc and cjson.decode(doc)['session']
  if session == nil or session == cjson.null then session = '' end
  return session == ARGV[7]
end
for _, id in ipairs(ids) do
  local key = ARGV[3] .. ':delivery:' .. id
  if (ARGV[4] ~= '1' or redis.call('HGET', key, 'state') ~= 'pending') and in_session(key) then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    deleted = deleted + 1
  end
end
return {#ids, deleted}
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _delivery(job_id: int, row: list[Any]) -> Delivery:
    """A delivery from its hash fields (state, next_at, doc, attempts, payload, finished_at)."""
    state, next_at, doc, attempts, payload, finished_at = row
    data = json.loads(doc)
    data["attempts"] = json.loads(attempts) if attempts else []
    data["payload"] = json.loads(payload) if payload else None
    data["finished_at"] = float(finished_at) if finished_at else None
    return decode_delivery(job_id, _text(state), float(next_at), data)


class RedisDeliveries:
    def __init__(self, client: redis.Redis, keys: Keys, store_url: str = "") -> None:
        self.store_url = shown(store_url) if store_url else "redis"
        self._redis: Any = client
        self._keys = keys
        self._add = self._redis.register_script(_ADD)
        self._hasten = self._redis.register_script(_HASTEN)
        self._claim = self._redis.register_script(_CLAIM)
        self._release = self._redis.register_script(_RELEASE)
        self._purge = self._redis.register_script(_PURGE)

    def _key(self, job_id: int | bytes) -> str:
        return self._keys("delivery", int(job_id))

    @guarded
    def add(self, draft: Delivery) -> Delivery:
        job_id = draft.job_id
        doc = encode_delivery(replace(draft, id=job_id, attempts=()))  # the attempts live in their own list
        attempts = "[" + ",".join(map(encode_attempt, draft.attempts)) + "]"
        keys = [self._key(job_id), self._keys("deliveries:due"), self._keys("deliveries"), self._ids]
        args = [job_id, draft.state, repr(draft.next_at), doc, repr(draft.created_at), attempts]
        return _delivery(job_id, self._add(keys=keys, args=args))

    @property
    def _ids(self) -> str:
        return self._keys("deliveries:by_id")

    @guarded
    def claim_due(self, now: float, *, owner: str, lease_s: float, limit: int = 64) -> list[Delivery]:
        args: list[str | int] = [repr(now), repr(now + lease_s), limit, self._keys.prefix, owner]
        rows = self._claim(keys=[self._keys("deliveries:due")], args=args)
        claimed = [_delivery(int(row[0]), row[1:]) for row in rows]
        return sorted(claimed, key=lambda delivery: delivery.next_at)

    @guarded
    def hasten(self, job_id: int, now: float) -> bool:
        keys = [self._key(job_id), self._keys("deliveries:due")]
        return bool(self._hasten(keys=keys, args=[job_id, repr(now)]))

    @guarded
    def release(self, delivery_id: int, owner: str, turn: Turn) -> bool:
        args: list[str | int] = [
            delivery_id,
            owner,
            turn.state,
            repr(turn.next_at),
            encode_attempt(turn.attempt) if turn.attempt is not None else "",
            json.dumps(turn.payload, separators=(",", ":")) if turn.payload is not None else "",
            repr(turn.finished_at) if turn.finished_at is not None else "",
        ]
        keys = [self._key(delivery_id), self._keys("deliveries:due")]
        return bool(self._release(keys=keys, args=args))

    @guarded
    def for_job(self, job_id: int) -> Delivery | None:
        row = self._redis.hmget(self._key(job_id), list(_FIELDS))
        return None if row[2] is None else _delivery(job_id, row)

    @guarded
    def page(self, window: Window, state: DeliveryState | None = None) -> Page[Delivery]:
        """Newest first by id: states and sizes a batch at a time, then only the records that fit."""

        def sizes(ids: list[int]) -> list[int | None]:
            with self._redis.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hget(self._key(job_id), "state")
                    for name in ("doc", "attempts", "payload"):
                        pipe.hstrlen(self._key(job_id), name)
                found = pipe.execute()
            rows = (found[4 * index : 4 * index + 4] for index in range(len(ids)))
            return [
                None
                if row_state is None or (state is not None and _text(row_state) != state)
                else sum(lengths)
                for row_state, *lengths in rows
            ]

        chosen, more = newest_ids(self._redis, self._ids, sizes, window)
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in chosen:
                pipe.hmget(self._key(job_id), list(_FIELDS))
            rows = pipe.execute()
        deliveries = [_delivery(job_id, row) for job_id, row in zip(chosen, rows, strict=True) if row[2]]
        return Page(list(reversed(deliveries)), chosen[-1] if more and chosen else None)

    def _purge_all(self, before: str, keep_pending: bool, session: str | None = None) -> int:
        deleted = kept = 0
        keys = [self._keys("deliveries"), self._keys("deliveries:due"), self._ids]
        only: list[str | int] = [0, ""] if session is None else [1, session]
        while True:
            args: list[str | int] = [before, _BATCH, self._keys.prefix, int(keep_pending), kept, *only]
            seen, gone = (int(value) for value in self._purge(keys=keys, args=args))
            deleted, kept = deleted + gone, kept + seen - gone
            if seen < _BATCH:
                return deleted

    @guarded
    def purge(self, before: float) -> int:
        return self._purge_all(repr(before), keep_pending=True)

    @guarded
    def clear(self, session: str | None = None) -> None:
        self._purge_all("+inf", keep_pending=False, session=session)

    def close(self) -> None:
        self._redis.close()
