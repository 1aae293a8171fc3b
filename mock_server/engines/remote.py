"""The engine of an API replica whose images are computed elsewhere: by `mixmock worker` processes.

The replica stores the job as unclaimed engine work (`JobStore.create`), which it never claims itself; a
worker claims it under a lease, renders it and finishes it in the store, where any replica's fetch finds
it. This engine only says how long that takes: the work waiting ahead, shared by the live workers
(`state/redis/engine_workers.py`), times the seconds per job that the workers measure and publish.
"""

from __future__ import annotations

from mock_server.engines.base import ImageJob
from mock_server.state.clock import Clock
from mock_server.state.redis.engine_workers import RedisEngineWorkers

__all__ = ["RemoteEngine", "RenderedElsewhereError"]


class RenderedElsewhereError(RuntimeError):
    """`render` was called on an API replica: engine workers render its jobs."""


class RemoteEngine:
    name = "remote"
    lazy = False

    def __init__(self, workers: RedisEngineWorkers, clock: Clock, fallback_job_s: float) -> None:
        self.workers = workers
        self._clock = clock
        self._fallback_job_s = fallback_job_s  # until a worker has measured a job

    def estimate_seconds(self, job: ImageJob) -> float:
        return self.workers.state(self._clock.now()).eta(self._fallback_job_s * max(1, job.samples))

    async def render(self, job: ImageJob) -> list[bytes]:
        raise RenderedElsewhereError(
            "the remote engine renders nothing in the API replica: `mixmock worker` processes render its jobs"
        )

    async def aclose(self) -> None:
        return None
