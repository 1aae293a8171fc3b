"""The job store on Redis: the same interface and guarantees as the SQLite store, shared by any number of
mock replicas and engine workers.

Keys (under the prefix, see `connection.Keys`):
    job:<id>          hash: doc (the job's JSON), polls; expires `ttl_s` after creation (vendor's retention)
    file:<prefix>     the id of the job whose output files carry this prefix; same expiry
    images:<prefix>   hash: sample index -> PNG bytes; expires with the job
    jobs              sorted set: id by created_at (recent jobs, purge)
    pending:<key>     sorted set: a key's processing jobs, scored by when they stop counting (queue limit)
    ids               the id counter; each process takes a block of `id_block` ids with one INCRBY

Every write of a job is one Lua script, so its document, its lookup key and its indexes change together;
a poll is counted with HINCRBY inside a script that returns the updated job. Creates that arrive in the
same event-loop turn go to Redis in one script call (group commit), before any of them is answered.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from mock_server.state.jobs import Job, decode_job, encode_job
from mock_server.state.redis.connection import Keys, aguarded, as_unavailable, guarded, shown
from mock_server.state.redis.loop_client import LoopClient, LoopScript

__all__ = ["ID_BLOCK", "RedisJobStore"]

ID_BLOCK = 64
_PURGE_BATCH = 500

# New jobs, any number in one call (the group commit). ARGV: ttl ms, the key prefix, then per job: id,
# file prefix, doc, created_at, pending score ("" when the job does not count towards its key's queue),
# key digest. Every file prefix is checked before anything is written, so a clash writes no job.
_CREATE = """
local ttl, p = ARGV[1], ARGV[2]
for i = 3, #ARGV, 6 do
  local owner = redis.call('GET', p .. ':file:' .. ARGV[i + 1])
  if owner and owner ~= ARGV[i] then
    return redis.error_reply('file_prefix ' .. ARGV[i + 1] .. ' belongs to job ' .. owner)
  end
end
for i = 3, #ARGV, 6 do
  local id, job = ARGV[i], p .. ':job:' .. ARGV[i]
  redis.call('HSET', job, 'doc', ARGV[i + 2], 'polls', 0)
  redis.call('PEXPIRE', job, ttl)
  redis.call('SET', p .. ':file:' .. ARGV[i + 1], id, 'PX', ttl)
  redis.call('ZADD', p .. ':jobs', ARGV[i + 3], id)
  if ARGV[i + 4] ~= '' then
    local pending = p .. ':pending:' .. ARGV[i + 5]
    -- entries whose time has passed no longer count: drop them as new ones come, so the set stays small
    redis.call('ZREMRANGEBYSCORE', pending, '-inf', ARGV[i + 3])
    redis.call('ZADD', pending, ARGV[i + 4], id)
    redis.call('PEXPIRE', pending, ttl)
  end
end
return (#ARGV - 2) / 6
"""

# A job changed (finished, or a reserved id filled). KEYS: job, file, jobs index, pending. ARGV: doc, id,
# created_at, pending score ("" when the job no longer counts towards its key's queue). Keeps the expiry.
_SAVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', left) end
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[2])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[4], ARGV[2])
else
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
end
return 1
"""

# A reserved id: an empty placeholder (not a job yet) that `save` fills. KEYS: job. ARGV: ttl ms.
_RESERVE = "redis.call('HSET', KEYS[1], 'doc', '', 'polls', 0) redis.call('PEXPIRE', KEYS[1], ARGV[1])"

_POLL = """
local doc = redis.call('HGET', KEYS[1], 'doc')
if not doc or doc == '' then return false end
return {doc, redis.call('HINCRBY', KEYS[1], 'polls', 1)}
"""

# KEYS: file key. ARGV: the key prefix.
_BY_FILE = """
local id = redis.call('GET', KEYS[1])
if not id then return false end
local found = redis.call('HMGET', ARGV[1] .. ':job:' .. id, 'doc', 'polls')
if not found[1] or found[1] == '' then return false end
return found
"""

# KEYS: file key, images key. ARGV: fallback ttl ms, then index, png pairs.
_PUT_IMAGES = """
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
local left = redis.call('PTTL', KEYS[1])
redis.call('PEXPIRE', KEYS[2], left > 0 and left or ARGV[1])
return 1
"""

# KEYS: jobs index. ARGV: before, batch size, the key prefix. Deletes the batch's jobs, files and images.
_PURGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local job = ARGV[3] .. ':job:' .. id
  local doc = redis.call('HGET', job, 'doc')
  if doc and doc ~= '' then
    local decoded = cjson.decode(doc)
    local file_prefix = decoded.file_prefix
    redis.call('DEL', ARGV[3] .. ':file:' .. file_prefix, ARGV[3] .. ':images:' .. file_prefix)
    if type(decoded.extra) == 'table' and type(decoded.extra.key) == 'string' then
      redis.call('ZREM', ARGV[3] .. ':pending:' .. decoded.extra.key, id)
    end
  end
  redis.call('DEL', job)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
"""


@dataclass(frozen=True)
class _LoopSide:
    """The event loop's own connection, with the scripts of the loop's hot path."""

    loop: asyncio.AbstractEventLoop
    client: LoopClient
    create: LoopScript
    save: LoopScript
    poll: LoopScript

    @classmethod
    def connect(cls, loop: asyncio.AbstractEventLoop, store_url: str) -> _LoopSide:
        client = LoopClient(store_url)
        scripts = (LoopScript(client, source) for source in (_CREATE, _SAVE, _POLL))
        return cls(loop, client, *scripts)


class RedisJobStore:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        ttl_s: float,
        store_url: str = "",
        id_block: int = ID_BLOCK,
    ) -> None:
        if id_block < 1:
            raise ValueError(f"id_block must be at least 1, got {id_block!r}")
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be more than 0 seconds, got {ttl_s!r}")
        if not store_url:
            raise ValueError("store_url is required: the event loop's own connection connects with it")
        self.store_url = shown(store_url)
        self._redis: Any = client  # redis-py's hints mix in its asyncio types; results are checked here
        self._keys = keys
        self._ttl_ms = max(1, math.ceil(ttl_s * 1000))
        self._ttl_s = ttl_s
        self._id_block = id_block
        self._next_id = self._block_end = 0  # the ids this process may still hand out: [next, end)
        self._create = self._redis.register_script(_CREATE)
        self._save = self._redis.register_script(_SAVE)
        self._reserve = self._redis.register_script(_RESERVE)
        self._poll = self._redis.register_script(_POLL)
        self._by_file = self._redis.register_script(_BY_FILE)
        self._put_images = self._redis.register_script(_PUT_IMAGES)
        self._purge = self._redis.register_script(_PURGE)
        self._url = store_url
        self._async: _LoopSide | None = None  # the running loop's connection, made on first use
        self._queued: list[Job] = []  # jobs of `create_grouped` not yet written
        self._written: asyncio.Future[None] | None = None  # resolved when they are

    # ---- ids

    def _take_id(self) -> int:
        if self._next_id >= self._block_end:
            end = int(self._redis.incrby(self._keys("ids"), self._id_block))
            self._next_id, self._block_end = end - self._id_block + 1, end + 1
        job_id = self._next_id
        self._next_id += 1
        return job_id

    @guarded
    def reserve_id(self) -> int:
        job_id = self._take_id()
        self._reserve(keys=[self._keys("job", job_id)], args=[self._ttl_ms])
        return job_id

    # ---- writes

    def _pending_score(self, job: Job) -> str:
        """When the job stops counting towards its key's queue limit; "" when it does not count."""
        if job.state != "processing":
            return ""
        return repr(job.ready_at if job.ready_at is not None else job.created_at + self._ttl_s)

    def _key_digest(self, job: Job) -> str:
        key = job.extra.get("key")
        return key if isinstance(key, str) else "-"

    def _write_new(self, jobs: Sequence[Job]) -> None:
        self._create(args=self._create_args(jobs))

    def _create_args(self, jobs: Sequence[Job]) -> list[str | int]:
        args: list[str | int] = [self._ttl_ms, self._keys.prefix]
        for job in jobs:
            args += [
                job.id,
                job.file_prefix,
                encode_job(job),
                repr(job.created_at),
                self._pending_score(job),
                self._key_digest(job),
            ]
        return args

    def _built(self, build: Callable[[int], Job]) -> Job:
        job_id = self._take_id()
        job = build(job_id)
        if job.id != job_id:
            raise ValueError(f"the job built for id {job_id} has id {job.id!r}")
        return job

    @guarded
    def create(self, build: Callable[[int], Job]) -> Job:
        job = self._built(build)
        self._write_new([job])
        return job

    async def create_grouped(self, build: Callable[[int], Job]) -> Job:
        """Like `create`, but written in one script call with the jobs created in the same event-loop turn.

        The write goes through the loop's own connection: while Redis stores one group, the event loop
        goes on reading the next requests (a blocking round trip would leave the process idle meanwhile).
        """
        loop = asyncio.get_running_loop()
        try:
            job = self._built(build)
        except redis.RedisError as error:  # the id block could not be taken
            raise as_unavailable(self.store_url, error) from None
        self._queued.append(job)
        if self._written is None:
            self._written = loop.create_future()
            loop.call_soon(lambda: loop.create_task(self._write_queued()))
        await self._written
        return job

    async def _write_queued(self) -> None:
        jobs, written = self._queued, self._written
        self._queued, self._written = [], None
        if written is None:  # pragma: no cover - scheduled only with a future
            return
        try:
            await self._on_loop().create(*self._create_args(jobs))
        except Exception as error:  # every request of the group answers that its job was not saved
            written.set_exception(as_unavailable(self.store_url, error))
            return
        written.set_result(None)

    def _on_loop(self) -> _LoopSide:
        """The running loop's connection and scripts (made on first use)."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async.loop is not loop:
            self._async = _LoopSide.connect(loop, self._url)
        return self._async

    async def aclose(self) -> None:
        """Close the loop's connection (from the loop it was made on); `close` closes the other."""
        if self._async is not None:
            side, self._async = self._async, None
            await side.client.aclose()

    @guarded
    def save(self, job: Job) -> None:
        args: list[str | int] = [encode_job(job), job.id, repr(job.created_at), self._pending_score(job)]
        self._save(keys=list(self._save_keys(job)), args=args)

    def _save_keys(self, job: Job) -> tuple[str, ...]:
        return (
            self._keys("job", job.id),
            self._keys("file", job.file_prefix),
            self._keys("jobs"),
            self._keys("pending", self._key_digest(job)),
        )

    @aguarded
    async def asave(self, job: Job) -> None:
        args = (encode_job(job), job.id, repr(job.created_at), self._pending_score(job))
        await self._on_loop().save(*args, keys=self._save_keys(job))

    @aguarded
    async def aget(self, job_id: int) -> Job | None:
        doc, polls = await self._on_loop().client.call("HMGET", self._keys("job", job_id), "doc", "polls")
        return None if not doc else decode_job(doc, int(polls or 0))

    @aguarded
    async def arecord_poll(self, job_id: int) -> Job | None:
        found = await self._on_loop().poll(keys=(self._keys("job", job_id),))
        return None if not found else decode_job(found[0], int(found[1]))

    @guarded
    def put_images(self, file_prefix: str, images: Sequence[bytes]) -> None:
        pairs: list[Any] = []
        for index, png in enumerate(images):
            pairs += [index, png]
        keys = [self._keys("file", file_prefix), self._keys("images", file_prefix)]
        self._put_images(keys=keys, args=[self._ttl_ms, *pairs])

    # ---- reads

    @guarded
    def get(self, job_id: int) -> Job | None:
        doc, polls = self._redis.hmget(self._keys("job", job_id), ["doc", "polls"])
        return None if not doc else decode_job(doc, int(polls or 0))

    @guarded
    def by_prefix(self, file_prefix: str) -> Job | None:
        found = self._by_file(keys=[self._keys("file", file_prefix)], args=[self._keys.prefix])
        return None if not found else decode_job(found[0], int(found[1] or 0))

    @guarded
    def record_poll(self, job_id: int) -> Job | None:
        found = self._poll(keys=[self._keys("job", job_id)])
        return None if not found else decode_job(found[0], int(found[1]))

    @guarded
    def get_image(self, file_prefix: str, index: int) -> bytes | None:
        png = self._redis.hget(self._keys("images", file_prefix), str(index))
        return None if png is None else bytes(png)

    @guarded
    def recent(self, limit: int) -> list[Job]:
        """The newest `limit` jobs, oldest first (expired ones left out)."""
        found: list[Job] = []
        start = 0
        while len(found) < limit:
            ids = self._redis.zrevrange(self._keys("jobs"), start, start + limit - 1)
            if not ids:
                break
            with self._redis.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hmget(self._keys("job", int(job_id)), ["doc", "polls"])
                rows = pipe.execute()
            found += [decode_job(doc, int(polls or 0)) for doc, polls in rows if doc]
            start += limit
        return list(reversed(found[:limit]))

    @guarded
    def pending_count(self, key_digest: str, now: float) -> int:
        """Jobs of one key still processing at `now` (the vendor's queue limit counts these)."""
        return int(self._redis.zcount(self._keys("pending", key_digest), f"({now!r}", "+inf"))

    @guarded
    def purge(self, before: float) -> int:
        """Delete the jobs created before `before`, and their images (Redis also expires them by TTL)."""
        total = 0
        while True:
            args: list[str | int] = [repr(before), _PURGE_BATCH, self._keys.prefix]
            purged = int(self._purge(keys=[self._keys("jobs")], args=args))
            total += purged
            if purged < _PURGE_BATCH:
                return total

    @guarded
    def count(self) -> int:
        return int(self._redis.zcard(self._keys("jobs")))

    @guarded
    def ping(self) -> None:
        self._redis.ping()

    def close(self) -> None:
        self._redis.close()
