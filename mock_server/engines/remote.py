"""The engine of an API replica whose images are computed elsewhere: by `mixmock worker` processes.

The replica stores the job and puts its id on the shared queue (`state/redis/engine_queue.py`); a worker
renders it and finishes it in the store, where any replica's fetch finds it. This engine only says how
long that takes: the work queued ahead, shared by the live workers, times the seconds per job that the
workers measure and publish.
"""

from __future__ import annotations

from mock_server.engines.base import ImageJob
from mock_server.state.clock import Clock
from mock_server.state.redis.engine_queue import RedisEngineQueue

__all__ = ["RemoteEngine", "RenderedElsewhereError"]


class RenderedElsewhereError(RuntimeError):
    """`render` was called on an API replica: its jobs go to the queue, and workers render them."""


class RemoteEngine:
    name = "remote"
    lazy = False

    def __init__(self, queue: RedisEngineQueue, clock: Clock, fallback_job_s: float) -> None:
        self.queue = queue
        self._clock = clock
        self._fallback_job_s = fallback_job_s  # until a worker has measured a job

    def estimate_seconds(self, job: ImageJob) -> float:
        return self.queue.state(self._clock.now()).eta(self._fallback_job_s * max(1, job.samples))

    async def render(self, job: ImageJob) -> list[bytes]:
        raise RenderedElsewhereError(
            "the remote engine renders nothing in the API replica: its jobs are queued for `mixmock worker`"
        )

    async def aclose(self) -> None:
        return None
