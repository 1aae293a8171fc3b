"""`mixmock worker`: an engine worker. It claims engine jobs in the shared store, renders them, and
finishes them there, where any API replica's fetch (and webhook sender) finds them.

Claims go through the same leases as an in-process engine's (`Lifecycle`, `JobStore.claim_engine_job`):
the worker takes work nobody holds, oldest first, including jobs nobody claimed yet (their creator, an
`--engine remote` replica, never will), keeps up to `max_in_flight` rendering at once (the engine's batch
size, so compatible jobs batch together as in one process), and renews its leases while it renders. A
worker that dies stops renewing, and another takes its jobs up once the leases run out; a worker told to
stop (SIGTERM) gives its unfinished jobs back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from mock_server.services.background import repeat
from mock_server.services.deliveries import DeliveryStore
from mock_server.state.health import StoreHealth
from mock_server.state.jobs import Job, StoreError
from mock_server.state.lifecycle import Lifecycle
from mock_server.state.redis.engine_workers import RedisEngineWorkers

__all__ = ["EngineWorker", "worker_name"]

log = logging.getLogger("mixmock.worker")


def worker_name() -> str:
    """Unique across machines and restarts: host, process, and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class EngineWorker:
    def __init__(
        self,
        workers: RedisEngineWorkers,
        lifecycle: Lifecycle,
        deliveries: DeliveryStore,
        health: StoreHealth,
        *,
        max_in_flight: int = 4,
        poll_s: float = 0.1,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight!r}")
        if lifecycle.grace_s != 0:
            raise ValueError("an engine worker's lifecycle takes unclaimed work at once: grace_s=0")
        self.workers = workers
        self.lifecycle = lifecycle
        self.deliveries = deliveries
        self.health = health
        self.name = lifecycle.owner  # its leases' owner token
        self.max_in_flight = max_in_flight
        self.poll_s = poll_s
        self.rendered = 0  # jobs this worker finished
        lifecycle.listeners.append(self._finished)

    async def _finished(self, job: Job) -> None:
        """A job done here: its seconds go into the shared average, and its webhook is due now (whichever
        API replica claims it next sends it)."""
        self.rendered += 1
        log.info("job %s %s", job.id, job.state)
        if job.state == "success":  # the engine time of the batch it shared with the others in flight
            self.workers.record_job_seconds(job.generation_time / max(1, self.lifecycle.rendering))
        if job.webhook:
            self.deliveries.hasten(job.id, self.lifecycle.clock.now())

    async def run(self, stop: asyncio.Event) -> None:
        """Take and render jobs until `stop` is set; then give back what is unfinished."""
        renewing = asyncio.create_task(
            repeat(self._renew, self.lifecycle.lease_s / 3, "renewing engine leases", health=self.health)
        )
        try:
            while not stop.is_set():
                if not self._take():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.poll_s)
        finally:
            renewing.cancel()
            await self._give_back()

    async def _renew(self) -> None:
        self.lifecycle.renew_leases()

    def _take(self) -> list[Job]:
        free = self.max_in_flight - self.lifecycle.rendering
        try:
            self.workers.heartbeat(self.name, self.lifecycle.clock.now())
            taken = self.lifecycle.resume_unfinished(free) if free > 0 else []
        except StoreError as error:  # the jobs wait in the store; this worker tries again shortly
            self.health.failed(error)
            return []
        self.health.recovered()
        return taken

    async def _give_back(self) -> None:
        unfinished = self.lifecycle.rendering
        try:
            self.lifecycle.release_leases()  # before the renders stop: they would forget their ids
            self.workers.leave(self.name)
        except StoreError as error:  # their leases run out instead
            self.health.failed(error)
        tasks = list(self.lifecycle.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if unfinished:
            log.info("gave back %d unfinished job(s)", unfinished)
