"""Jobs: every accepted create request, as the store keeps it, and the interface of a store.

Two stores implement `JobStore`: SQLite (`sqlite_store.py`, embedded, the default) and Redis
(`redis/job_store.py`, shared by any number of replicas and engine workers). The guarantees each method
gives are in its docstring, and `tests/unit/mock_server/state/test_job_store_contract.py` checks them
for both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, Literal, Protocol, TypeVar

from mock_server.engines.base import ImageJob

__all__ = [
    "MAX_JOB_ID",
    "PAGE_BYTES",
    "Job",
    "JobState",
    "JobStore",
    "Page",
    "StoreError",
    "Window",
    "decode_job",
    "encode_job",
    "key_digest",
]

JobState = Literal["processing", "success", "failed"]
T = TypeVar("T")
PAGE_BYTES = 8 << 20  # what one admin page may hold of stored documents (a job can be megabytes)
MAX_JOB_ID = 2**63 - 1  # ids are 64-bit integers in every store; no job has an id beyond


class StoreError(Exception):
    """The store cannot be read or written now: a full disk, a damaged file, Redis down, loading or
    refusing writes. The one error every store interface raises for a failing store (never a backend's
    own error).

    `store` names the store (a path, or a URL without its password) and `reason` says why. The request
    that meets it gets the vendor's 503 reply, and `/ready` answers 503 until the store works again.
    """

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"the store {store} is unavailable: {reason}")
        self.store = store
        self.reason = reason


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, oldest first; `next_before` continues with older items (None: no more)."""

    items: list[T]
    next_before: int | None = None


@dataclass(frozen=True)
class Window:
    """Which page of a newest-first listing to read: at most `limit` items with an id below `before`,
    stopping once their stored size passes `max_bytes` (at least one item is taken)."""

    limit: int = 1000
    before: int | None = None
    max_bytes: int = PAGE_BYTES

    @property
    def below(self) -> int:
        """`before` clamped to what SQLite can bind (a 64-bit integer): with no `before`, MAX_JOB_ID, so
        a job with that very id is never listed (ids are handed out far below it)."""
        return MAX_JOB_ID if self.before is None else min(self.before, MAX_JOB_ID)

    def take(self, sized: Iterable[tuple[T, int]]) -> tuple[list[T], bool]:
        """This page's items from newest-first `(item, stored size)` pairs, read no further than needed,
        and whether older items remain."""
        taken: list[T] = []
        size = 0
        for item, item_size in sized:
            if len(taken) == self.limit or (taken and size + item_size > self.max_bytes):
                return taken, True
            taken.append(item)
            size += item_size
        return taken, False


@dataclass(frozen=True)
class Job:
    id: int
    operation_id: str
    file_prefix: str
    state: JobState
    created_at: float
    image_job: ImageJob
    output: tuple[str, ...]  # the image URLs (a processing reply's future_links)
    meta: Mapping[str, Any]
    generation_time: float
    ready_at: float | None = None  # processing jobs finished by time; None: by polls or by the engine
    polls_needed: int | None = None  # processing jobs finished after this many fetches
    polls: int = 0
    message: str | None = None  # why a failed job failed
    webhook: str | None = None
    track_id: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # room for later features (webhook log...)
    eager: bool = False  # an eager engine renders it once accepted; while processing it is engine work
    session: str = ""  # the session that created it (mock_server/sessions.py); other sessions never see it

    def finished(self, state: JobState, message: str | None = None) -> Job:
        return replace(self, state=state, message=message)

    @property
    def engine_work(self) -> bool:
        """Still to be rendered by an eager engine (a restart resumes it)."""
        return self.eager and self.state == "processing"


def key_digest(key: Any, secret: bytes, session: str = "") -> str:
    """What a job keeps of the API key that made it: a keyed digest (the store's secret), never the key.

    Enough to count one key's queue (in one session: the same key in two sessions is two queues);
    without the secret, which never leaves the store, a digest cannot be checked against guessed keys.
    """
    text = f"{session}\0{key}" if session else str(key)
    return hashlib.blake2b(text.encode("utf-8", "replace"), key=secret[:64], digest_size=16).hexdigest()


_JOB_FIELDS = tuple(item.name for item in fields(Job))
_IMAGE_JOB_FIELDS = tuple(item.name for item in fields(ImageJob))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot store {type(value).__name__} in a job")


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_plain)  # built once, not per job


def encode_job(job: Job) -> str:
    """The job as the stores keep it: one JSON document (polls live beside it, counted atomically)."""
    # Field by field rather than dataclasses.asdict, which deep-copies every value (a third of a request).
    data = {name: getattr(job, name) for name in _JOB_FIELDS}
    image_job = job.image_job
    data["image_job"] = {name: getattr(image_job, name) for name in _IMAGE_JOB_FIELDS}
    return _ENCODER.encode(data)


def decode_job(doc: str | bytes, polls: int) -> Job:
    data: dict[str, Any] = json.loads(doc)
    data["image_job"] = ImageJob(**data["image_job"])
    data["output"] = tuple(data["output"])
    data["polls"] = polls
    return Job(**data)


class JobStore(Protocol):
    """Where jobs live. Every method raises StoreError (never a backend's own error) when the store fails."""

    def create(self, build: Callable[[int], Job]) -> Job:
        """Reserve an id, build the job for it and save it, as one write (the hot path of every create).

        A job with `engine_work` is recorded as unfinished engine work in the same write, unclaimed: its
        creator claims it next, and `unfinished_engine_jobs` leaves it alone until `created_at + lease_s`.
        """
        ...

    async def create_grouped(self, build: Callable[[int], Job]) -> Job:
        """`create`, with the write shared by the jobs created in the same event-loop turn (group commit);
        returns once the job is stored."""
        ...

    def reserve_id(self) -> int:
        """A new job id, unique across every process sharing the store, increasing within a process."""
        ...

    def save(self, job: Job) -> None:
        """Write a job (insert or replace) under its reserved id; a job that is no longer engine work
        leaves the unfinished engine work (and its lease) in the same write."""
        ...

    def get(self, job_id: int) -> Job | None:
        """The job, or None (also for ids beyond MAX_JOB_ID, which no job has)."""
        ...

    def by_prefix(self, file_prefix: str) -> Job | None: ...

    def record_poll(self, job_id: int) -> Job | None:
        """Count one fetch of the job and return it updated, atomically."""
        ...

    # The same three on the event loop's hot path (every fetch): a networked store answers them without
    # blocking the loop; the embedded store answers at once.
    async def aget(self, job_id: int) -> Job | None: ...

    async def arecord_poll(self, job_id: int) -> Job | None: ...

    async def asave(self, job: Job) -> None: ...

    def put_images(self, file_prefix: str, images: Sequence[bytes]) -> None: ...

    def get_image(self, file_prefix: str, index: int) -> bytes | None: ...

    def page(self, window: Window) -> Page[Job]:
        """The jobs in `window`, oldest first, read one at a time: a page reads at most one job beyond
        what it returns (the one that would break the window's limit or size)."""
        ...

    def pending_count(self, key_digest: str, now: float) -> int:
        """How many jobs of one key are still processing at `now`."""
        ...

    def claim_engine_job(self, job_id: int, owner: str, now: float, lease_s: float) -> bool:
        """Take or renew the lease on unfinished engine work for `owner` until `now + lease_s`, atomically.

        True when `owner` holds it now. False when the job is finished or unknown, or when another owner's
        lease still runs: two owners never hold one job's lease at once.
        """
        ...

    def unfinished_engine_jobs(self, now: float, lease_s: float, limit: int = 64) -> list[Job]:
        """Engine work no lease holds at `now` (its holder died or let go), oldest first: what a process
        (a restart, another replica, an engine worker) should claim and render. Work never claimed counts
        as its creator's until `created_at + lease_s`; engine workers, whose jobs' creators never render
        (`--engine remote`), pass 0."""
        ...

    def release_engine_job(self, job_id: int, owner: str) -> None:
        """Give up `owner`'s lease (the process is stopping): another process may resume the job now."""
        ...

    def secret(self) -> bytes:
        """Random bytes made once per store and shared by every process using it (for `key_digest`)."""
        ...

    def health(self) -> str | None:
        """Why the store cannot be used now (a recent failed access, or a failing probe write), or None.

        The other parts of a backend (journal, deliveries, defaults) share the store's file or Redis, so
        this covers them."""
        ...

    def purge(self, before: float) -> int:
        """Delete jobs (their images and engine work) created before `before`; returns how many."""
        ...

    def count(self) -> int: ...

    async def aclose(self) -> None:
        """Release what belongs to the running event loop (call it there, before `close`)."""
        ...

    def close(self) -> None: ...
