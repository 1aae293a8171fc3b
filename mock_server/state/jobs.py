"""Jobs: every accepted create request, as the store keeps it, and the interface of a store.

The embedded store is SQLite (`sqlite_store.py`); anything with the `JobStore` methods (a Redis-backed
store, say) can replace it when several machines must share jobs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, Protocol

from mock_server.engines.base import ImageJob

__all__ = ["Job", "JobState", "JobStore", "StoreUnavailableError", "decode_job", "encode_job", "key_digest"]

JobState = Literal["processing", "success", "failed"]


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

    def finished(self, state: JobState, message: str | None = None) -> Job:
        return replace(self, state=state, message=message)


def key_digest(key: Any) -> str:
    """What a job keeps of the API key that made it: enough to count a key's queue, never the key."""
    return hashlib.sha256(str(key).encode("utf-8", "replace")).hexdigest()[:16]


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
    def create(self, build: Callable[[int], Job]) -> Job:
        """Reserve an id, build the job for it and save it, as one write (the hot path of every create)."""
        ...

    async def create_grouped(self, build: Callable[[int], Job]) -> Job:
        """`create`, with the write shared by the jobs created in the same event-loop turn (group commit);
        returns once the job is stored."""
        ...

    def reserve_id(self) -> int:
        """A new job id, unique across every process sharing the store, increasing within a process."""
        ...

    def save(self, job: Job) -> None:
        """Write a job (insert or replace) under its reserved id."""
        ...

    def get(self, job_id: int) -> Job | None: ...

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

    def recent(self, limit: int) -> list[Job]:
        """The newest `limit` jobs, oldest first."""
        ...

    def pending_count(self, key_digest: str, now: float) -> int:
        """How many jobs of one key are still processing at `now`."""
        ...

    def purge(self, before: float) -> int:
        """Delete jobs (and their images) created before `before`; returns how many."""
        ...

    def count(self) -> int: ...

    def ping(self) -> None:
        """Return when the store answers; raise StoreUnavailableError naming why it does not."""
        ...

    async def aclose(self) -> None:
        """Release what belongs to the running event loop (call it there, before `close`)."""
        ...

    def close(self) -> None: ...


class StoreUnavailableError(RuntimeError):
    """The shared store cannot be reached or refuses writes (Redis down, loading, read-only...).

    The request that met it gets the vendor's 503 reply; `/ready` answers false until the store is back.
    """

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"the job store {store} is unavailable: {reason}")
        self.store = store
        self.reason = reason
