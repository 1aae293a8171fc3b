"""How a job moves from processing to success or failed: by time, by fetch count, or by its engine."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from mock_server.echo import with_png_size
from mock_server.engines.base import EngineInputError
from mock_server.jobs import Job, JobState
from mock_server.runtime import Runtime

__all__ = ["advance_on_fetch", "finish", "is_due", "run_engine", "settle", "start_engine"]

log = logging.getLogger("mixmock.jobs")


def is_due(job: Job, now: float) -> bool:
    """A lazily produced processing job whose eta has passed (jobs counted by polls never are)."""
    return (
        job.state == "processing"
        and job.polls_needed is None
        and job.ready_at is not None
        and now >= job.ready_at
    )


async def finish(runtime: Runtime, job: Job, state: JobState, message: str | None = None) -> Job:
    done = job.finished(state, message)
    runtime.store.save(done)
    for listener in runtime.listeners:
        try:
            await listener(done)
        except Exception:  # a listener's bug must not turn a fetch into a 500
            log.exception("job listener failed for job %s", job.id)
    return done


def _outcome(job: Job) -> tuple[JobState, str | None]:
    """How a queued job ends: success, or failed when the failed-job rate picked it at creation."""
    return ("failed", "Failed, Try Again") if job.extra.get("fails") else ("success", None)


async def settle(runtime: Runtime, job: Job) -> Job:
    """The job as it stands now: one whose eta has passed is finished first (no poll is counted)."""
    if is_due(job, runtime.clock.now()):
        return await finish(runtime, job, *_outcome(job))
    return job


async def advance_on_fetch(runtime: Runtime, job: Job) -> Job:
    """The job as a fetch sees it now: counts the poll, and finishes it when it is due."""
    if job.state != "processing":
        return job
    if job.polls_needed is not None:
        polled = runtime.store.record_poll(job.id) or job
        if polled.polls > polled.polls_needed:  # type: ignore[operator]
            return await finish(runtime, polled, *_outcome(polled))
        return polled
    return await settle(runtime, job)


async def run_engine(runtime: Runtime, job: Job) -> Job:
    """Render an eager engine's images, store them, and finish the job (failed when the engine fails)."""
    started = runtime.clock.now()
    try:
        images = await runtime.engine.render(job.image_job)
    except EngineInputError as error:
        message = error.message if error.field in error.message else f"{error.field}: {error.message}"
        return await finish(
            runtime, replace(job, extra={**job.extra, "input_error": error.field}), "failed", message
        )
    except Exception as error:
        log.exception("engine %s failed on job %s", runtime.engine.name, job.id)
        return await finish(runtime, job, "failed", f"Failed, Try Again ({type(error).__name__})")
    runtime.store.put_images(job.file_prefix, images)
    elapsed = max(runtime.clock.now() - started, 0.0)
    meta = with_png_size(job.meta, images[0]) if images else job.meta  # the size it made, not asked
    return await finish(runtime, replace(job, generation_time=elapsed, meta=meta), "success")


def start_engine(runtime: Runtime, job: Job) -> asyncio.Task[Job]:
    task = asyncio.get_running_loop().create_task(run_engine(runtime, job))
    runtime.tasks.add(task)
    task.add_done_callback(runtime.tasks.discard)
    return task
