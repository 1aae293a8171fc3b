"""How a job moves from processing to success or failed: by time, by fetch count, or by its engine.

One place decides how a queued job ends (`planned_outcome`), and every path that can finish a job —
a fetch, an image download, a webhook delivery, an engine's result — finishes it through `Lifecycle`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from mock_server.engines.base import Engine, EngineInputError
from mock_server.pipeline.echo import with_png_size
from mock_server.state.clock import Clock
from mock_server.state.jobs import Job, JobState, JobStore
from openapi.vocabulary import failed_job_message

__all__ = ["JobListener", "Lifecycle", "is_due", "planned_outcome"]

log = logging.getLogger("mixmock.jobs")
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

    def __init__(self, store: JobStore, clock: Clock, engine: Engine) -> None:
        self.store = store
        self.clock = clock
        self.engine = engine
        # Called when a job reaches success or failed (webhook delivery hooks in here).
        self.listeners: list[JobListener] = []
        self.tasks: set[asyncio.Task[Any]] = set()  # engine runs in flight, cancelled on shutdown

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

    def start_engine(self, job: Job) -> asyncio.Task[Job]:
        task = asyncio.get_running_loop().create_task(self.run_engine(job))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task
