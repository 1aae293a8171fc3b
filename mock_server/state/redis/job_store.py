"""The job store on Redis: the same interface and guarantees as the SQLite store, shared by any number of
mock replicas and engine workers.

Keys (under the prefix, see `connection.Keys`):
    job:<id>          hash: doc (the job's JSON), polls; expires `ttl_s` after creation (vendor's retention)
    file:<prefix>     the id of the job whose output files carry this prefix; same expiry
    images:<prefix>   hash: sample index -> PNG bytes; expires with the job
    jobs              sorted set: id by created_at (purge, count)
    jobs:by_id        sorted set: id by id (admin pages, newest first)
    pending:<key>     sorted set: a key's processing jobs, scored by when they stop counting (queue limit)
    ids               the id counter; each process takes a block of `id_block` ids with one INCRBY
    engine:unclaimed  sorted set: engine work nobody claimed yet, by created_at
    engine:leased     sorted set: claimed engine work, by when its lease runs out (0: given back)
    engine:owners     hash: job id -> the process holding its lease
    secret            the store's random secret for key digests (made once, by whoever comes first)
    health            the probe written by `health()`

Every write of a job is one Lua script, so its document, its lookup key and its indexes change together:
a job that is engine work enters `engine:unclaimed` in the script that creates it, and leaves the engine
sets in the script that saves it finished. A poll is counted with HINCRBY inside a script that returns
the updated job. Creates that arrive in the same event-loop turn go to Redis in one script call (group
commit), before any of them is answered.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from mock_server.state.jobs import MAX_JOB_ID, Job, Page, StoreError, Window, decode_job, encode_job
from mock_server.state.redis import job_scripts as scripts
from mock_server.state.redis.connection import Keys, aguarded, as_unavailable, guarded, newest_ids, shown
from mock_server.state.redis.loop_client import LoopClient, LoopScript

__all__ = ["ENGINE_LEASED", "ENGINE_UNCLAIMED", "ID_BLOCK", "RedisJobStore"]

ID_BLOCK = 64
ENGINE_UNCLAIMED, ENGINE_LEASED, ENGINE_OWNERS = "engine:unclaimed", "engine:leased", "engine:owners"
_PURGE_BATCH = 500


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
        loop_scripts = (LoopScript(client, source) for source in (scripts.CREATE, scripts.SAVE, scripts.POLL))
        return cls(loop, client, *loop_scripts)


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
        self._create = self._redis.register_script(scripts.CREATE)
        self._save = self._redis.register_script(scripts.SAVE)
        self._reserve = self._redis.register_script(scripts.RESERVE)
        self._poll = self._redis.register_script(scripts.POLL)
        self._by_file = self._redis.register_script(scripts.BY_FILE)
        self._put_images = self._redis.register_script(scripts.PUT_IMAGES)
        self._purge = self._redis.register_script(scripts.PURGE)
        self._claim = self._redis.register_script(scripts.CLAIM)
        self._unfinished = self._redis.register_script(scripts.UNFINISHED)
        self._release = self._redis.register_script(scripts.RELEASE)
        self._probe = self._redis.register_script(scripts.PROBE)
        self._engine_keys = tuple(keys(name) for name in (ENGINE_UNCLAIMED, ENGINE_LEASED, ENGINE_OWNERS))
        self._secret: bytes | None = None  # read on first use (Redis may be down when the store opens)
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
                "1" if job.engine_work else "",
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
        self._save(keys=list(self._save_keys(job)), args=list(self._save_args(job)))

    def _save_keys(self, job: Job) -> tuple[str, ...]:
        return (
            self._keys("job", job.id),
            self._keys("file", job.file_prefix),
            self._keys("jobs"),
            self._keys("pending", self._key_digest(job)),
            self._keys("jobs:by_id"),
            *self._engine_keys,
        )

    def _save_args(self, job: Job) -> tuple[str | int, ...]:
        engine_work = "1" if job.engine_work else ""
        return (encode_job(job), job.id, repr(job.created_at), self._pending_score(job), engine_work)

    @aguarded
    async def asave(self, job: Job) -> None:
        await self._on_loop().save(*self._save_args(job), keys=self._save_keys(job))

    @aguarded
    async def aget(self, job_id: int) -> Job | None:
        if not 0 <= job_id <= MAX_JOB_ID:
            return None
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
        if not 0 <= job_id <= MAX_JOB_ID:
            return None
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
    def page(self, window: Window) -> Page[Job]:
        """The newest jobs below `window.before` (expired ones left out): sizes first, a batch of ids at
        a time, then only the documents that fit, so a page never reads more than it returns."""
        chosen, more = newest_ids(self._redis, self._keys("jobs:by_id"), self._doc_sizes, window)
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in chosen:
                pipe.hmget(self._keys("job", job_id), ["doc", "polls"])
            rows = pipe.execute()
        jobs = [decode_job(doc, int(polls or 0)) for doc, polls in reversed(rows) if doc]
        return Page(jobs, chosen[-1] if more and chosen else None)

    def _doc_sizes(self, ids: list[int]) -> list[int | None]:
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hstrlen(self._keys("job", job_id), "doc")
            sizes = pipe.execute()
        return [int(size) if size else None for size in sizes]  # 0: expired, not yet purged

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

    # ---- engine work

    @guarded
    def claim_engine_job(self, job_id: int, owner: str, now: float, lease_s: float) -> bool:
        keys = [self._keys("job", job_id), *self._engine_keys]
        return bool(self._claim(keys=keys, args=[job_id, owner, repr(now), repr(now + lease_s)]))

    @guarded
    def unfinished_engine_jobs(self, now: float, lease_s: float, limit: int = 64) -> list[Job]:
        args: list[str | int] = [repr(now - lease_s), repr(now), limit, self._keys.prefix]
        rows = self._unfinished(keys=list(self._engine_keys), args=args)
        return [decode_job(doc, int(polls or 0)) for _, doc, polls in rows]

    @guarded
    def release_engine_job(self, job_id: int, owner: str) -> None:
        self._release(keys=list(self._engine_keys[1:]), args=[job_id, owner])

    # ---- the secret and health

    def secret(self) -> bytes:
        return self._secret if self._secret is not None else self._read_secret()

    @guarded
    def _read_secret(self) -> bytes:
        keys = [self._keys("health"), self._keys("secret")]
        self._secret = bytes(self._probe(keys=keys, args=[repr(time.time()), os.urandom(32)]))
        return self._secret

    def health(self) -> str | None:
        """A probe write (which also reads the secret again: a Redis restarted empty gets one at once,
        the same for every process); why it failed, or None."""
        try:
            self._read_secret()
        except StoreError as error:
            return error.reason
        except redis.RedisError as error:  # a refusal that is no outage (a wrong key type...) is one here
            return f"{type(error).__name__}: {error}"
        return None

    def close(self) -> None:
        self._redis.close()
