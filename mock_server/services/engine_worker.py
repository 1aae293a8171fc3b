"""`mixmock worker`: an engine worker. It takes engine jobs from the shared queue, renders them, and
finishes them in the store, where any API replica's fetch (and webhook sender) finds them.

The worker keeps up to `max_in_flight` jobs rendering at once (the engine's batch size), so the engine
batches compatible ones together exactly as it does in one process. It holds a lease on each job and
renews it while it renders; a worker that dies stops renewing, and the job goes back to the queue for
another worker when the lease runs out. A worker told to stop (SIGTERM) gives its unfinished jobs back
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid

from mock_server.services.deliveries import Deliveries
from mock_server.state.health import StoreHealth
from mock_server.state.jobs import Job, StoreUnavailableError
from mock_server.state.lifecycle import Lifecycle
from mock_server.state.redis.engine_queue import RedisEngineQueue

__all__ = ["EngineWorker", "worker_name"]

log = logging.getLogger("mixmock.worker")


def worker_name() -> str:
    """Unique across machines and restarts: host, process, and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class EngineWorker:
    def __init__(
        self,
        queue: RedisEngineQueue,
        lifecycle: Lifecycle,
        deliveries: Deliveries,
        *,
        name: str | None = None,
        max_in_flight: int = 4,
        poll_s: float = 0.1,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight!r}")
        self.queue = queue
        self.lifecycle = lifecycle
        self.deliveries = deliveries
        self.name = name or worker_name()
        self.max_in_flight = max_in_flight
        self.poll_s = poll_s
        self.health = StoreHealth(lifecycle.store)
        self.rendered = 0  # jobs this worker finished
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        lifecycle.listeners.append(self._hasten_webhook)

    async def _hasten_webhook(self, job: Job) -> None:
        """A finished job's webhook is due now: whichever API replica polls next sends it."""
        if job.webhook:
            self.deliveries.hasten(job.id, self.lifecycle.clock.now())

    async def run(self, stop: asyncio.Event) -> None:
        """Take and render jobs until `stop` is set; then give back what is unfinished."""
        renewing = asyncio.create_task(self._renew_leases(stop))
        try:
            while not stop.is_set():
                claimed = self._claim()
                if not claimed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.poll_s)
        finally:
            renewing.cancel()
            await self._give_back()

    def _claim(self) -> list[int]:
        free = self.max_in_flight - len(self._in_flight)
        try:
            self.queue.heartbeat(self.name, time.time())
            claimed = self.queue.claim(self.name, free, time.time()) if free > 0 else []
        except StoreUnavailableError as error:
            self.health.failed(error)
            return []
        self.health.recovered()
        for job_id in claimed:
            task = asyncio.create_task(self._render(job_id, sharing=len(self._in_flight) + 1))
            self._in_flight[job_id] = task
            task.add_done_callback(functools.partial(self._forget, job_id))
        return claimed

    def _forget(self, job_id: int, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(job_id, None)

    async def _render(self, job_id: int, sharing: int) -> None:
        try:
            job = await self.lifecycle.store.aget(job_id)
            if job is not None and job.state == "processing":
                started = time.monotonic()
                done = await self.lifecycle.run_engine(job)
                # Seconds of engine time per job: the batch it shared ran for everyone in it.
                self.queue.record_job_seconds((time.monotonic() - started) / sharing)
                self.rendered += 1
                log.info("job %s %s in %.2f s", job_id, done.state, time.monotonic() - started)
            self.queue.done(self.name, [job_id])
        except StoreUnavailableError as error:  # the lease runs out and the job is taken up again
            self.health.failed(error)

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.queue.lease_s / 3)
            try:
                self.queue.renew(self.name, list(self._in_flight), time.time())
            except StoreUnavailableError as error:
                self.health.failed(error)

    async def _give_back(self) -> None:
        unfinished = list(self._in_flight)
        for task in self._in_flight.values():
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        try:
            self.queue.give_back(self.name, unfinished)
            self.queue.leave(self.name)
        except StoreUnavailableError as error:  # their leases run out instead
            self.health.failed(error)
        if unfinished:
            log.info("gave back %d unfinished job(s) to the queue", len(unfinished))
