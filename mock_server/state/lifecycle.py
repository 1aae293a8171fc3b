"""How a job moves from processing to success or failed: by time, by fetch count, or by its engine.

One place decides how a queued job ends (`planned_outcome`), and every path that can finish a job —
a fetch, an image download, a webhook delivery, an engine's result — finishes it through `Lifecycle`.

An eager engine's job is rendered by the process that holds its lease in the store: the process that
accepted it claims it, renews the lease while it renders (`renew_leases`), and gives it up on a clean
shutdown. A process that dies stops renewing; once the lease runs out, any process sharing the store
(a restart, another replica, an engine worker) claims the job and renders it (`resume_unfinished`):
every accepted id ends. An API replica whose images are rendered elsewhere (`--engine remote`) renders
nothing (`renders=False`): `mixmock worker` processes claim its jobs through the same leases, at once
(`grace_s=0`), since their creator never will.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from mock_server.engines.base import Engine, EngineInputError
from mock_server.pipeline.echo import with_png_size
from mock_server.state.clock import Clock
from mock_server.state.jobs import Job, JobState, JobStore
from openapi.vocabulary import failed_job_message

__all__ = ["ENGINE_LEASE_S", "JobListener", "Lifecycle", "is_due", "planned_outcome"]

log = logging.getLogger("mixmock.jobs")
ENGINE_LEASE_S = 30.0
JobListener = Callable[[Job], Awaitable[None]]


def is_due(job: Job, now: float) -> bool:
    """A lazily produced processing job whose eta has passed (jobs counted by polls never are)."""
    return (
        job.state == "processing"
        and job.polls_needed is None
        and job.ready_at is not None
        and now >= job.ready_at
    )


def planned_outcome(job: Job) -> tuple[JobState, str | None]:
    """How a queued job ends: success, or failed when the failed-job rate picked it at creation."""
    return ("failed", failed_job_message()) if job.extra.get("fails") else ("success", None)


class Lifecycle:
    """Finishes jobs in the store and tells the listeners (webhook delivery) when one is done."""

    def __init__(
        self,
        store: JobStore,
        clock: Clock,
        engine: Engine,
        *,
        lease_s: float = ENGINE_LEASE_S,
        owner: str | None = None,
        renders: bool = True,
        grace_s: float | None = None,
    ) -> None:
        if not lease_s > 0:
            raise ValueError(f"lease_s must be more than 0 seconds, got {lease_s!r}")
        if grace_s is not None and grace_s < 0:
            raise ValueError(f"grace_s must be 0 or more seconds, got {grace_s!r}")
        self.store = store
        self.clock = clock
        self.engine = engine
        self.lease_s = lease_s  # how long a claim on engine work lasts without renewal
        self.owner = owner or uuid.uuid4().hex  # this process's claims
        self.renders = renders  # False: an API replica whose jobs engine workers render
        # How long work nobody claimed yet is left to the process that accepted it (which claims it next).
        self.grace_s = lease_s if grace_s is None else grace_s
        # Called when a job reaches success or failed (webhook delivery hooks in here).
        self.listeners: list[JobListener] = []
        self.tasks: set[asyncio.Task[Any]] = set()  # engine runs in flight, cancelled on shutdown
        self._rendering: set[int] = set()  # ids of the jobs those runs render

    async def finish(self, job: Job, state: JobState, message: str | None = None) -> Job:
        done = job.finished(state, message)
        await self.store.asave(done)
        for listener in self.listeners:
            try:
                await listener(done)
            except Exception:  # a listener's bug must not turn a fetch into a 500
                log.exception("job listener failed for job %s", job.id)
        return done

    async def settle(self, job: Job) -> Job:
        """The job as it stands now: one whose eta has passed ends as planned (no poll is counted)."""
        if is_due(job, self.clock.now()):
            return await self.finish(job, *planned_outcome(job))
        return job

    async def lookup(self, job_id: int) -> Job | None:
        """The job now, settled first; None when the store has no such job."""
        job = await self.store.aget(job_id)
        return None if job is None else await self.settle(job)

    async def advance_on_fetch(self, job: Job) -> Job:
        """The job as a fetch sees it now: counts the poll, and finishes it when it is due."""
        if job.state != "processing":
            return job
        if job.polls_needed is not None:
            polled = await self.store.arecord_poll(job.id) or job
            if polled.polls > polled.polls_needed:  # type: ignore[operator]
                return await self.finish(polled, *planned_outcome(polled))
            return polled
        return await self.settle(job)

    async def run_engine(self, job: Job) -> Job:
        """Render an eager engine's images, store them, and finish the job (failed when the engine fails)."""
        started = self.clock.now()
        try:
            images = await self.engine.render(job.image_job)
        except EngineInputError as error:
            message = error.message if error.field in error.message else f"{error.field}: {error.message}"
            failed = replace(job, extra={**job.extra, "input_error": error.field})
            return await self.finish(failed, "failed", message)
        except Exception as error:
            log.exception("engine %s failed on job %s", self.engine.name, job.id)
            return await self.finish(job, "failed", f"{failed_job_message()} ({type(error).__name__})")
        self.store.put_images(job.file_prefix, images)
        elapsed = max(self.clock.now() - started, 0.0)
        meta = with_png_size(job.meta, images[0]) if images else job.meta  # the size it made, not asked
        return await self.finish(replace(job, generation_time=elapsed, meta=meta), "success")

    @property
    def rendering(self) -> int:
        """How many jobs this process renders now."""
        return len(self._rendering)

    def start_engine(self, job: Job) -> asyncio.Task[Job] | None:
        """Claim the job's engine work and render it here; None when another process holds it (or this
        one renders nothing)."""
        if (
            not self.renders
            or job.id in self._rendering
            or not self.store.claim_engine_job(job.id, self.owner, self.clock.now(), self.lease_s)
        ):
            return None
        task = asyncio.get_running_loop().create_task(self.run_engine(job))
        self.tasks.add(task)
        self._rendering.add(job.id)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(lambda _: self._rendering.discard(job.id))
        return task

    def renew_leases(self) -> None:
        """Extend the claims of the jobs this process renders (call well within `lease_s`)."""
        now = self.clock.now()
        for job_id in list(self._rendering):
            if not self.store.claim_engine_job(job_id, self.owner, now, self.lease_s):
                log.warning("job %s: its engine lease was taken over while this process rendered it", job_id)

    def resume_unfinished(self, limit: int = 64) -> list[Job]:
        """Render up to `limit` jobs of engine work that no lease holds (their holder died or let go on
        shutdown; for engine workers, also jobs nobody claimed yet), oldest first."""
        if not self.renders or limit < 1:
            return []
        resumed = []
        for job in self.store.unfinished_engine_jobs(self.clock.now(), self.grace_s, limit):
            if self.start_engine(job) is not None:
                # Workers take every job this way; a server only the work of a process that stopped.
                level = logging.INFO if self.grace_s > 0 else logging.DEBUG
                log.log(level, "job %s: rendering its engine work (unclaimed, or its holder stopped)", job.id)
                resumed.append(job)
        return resumed

    def release_leases(self) -> None:
        """Give up this process's claims (it stops): a restart or another worker resumes them at once."""
        for job_id in list(self._rendering):
            self.store.release_engine_job(job_id, self.owner)
