"""How jobs end, and engine work that survives its process: claimed, renewed, resumed, released; on
SQLite and on Redis (each process opens its own store on the shared state)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from mock_server.engines.base import ImageJob
from mock_server.state.clock import Clock, ManualClock
from mock_server.state.jobs import Job
from mock_server.state.lifecycle import Lifecycle
from mock_server.state.sqlite_store import SQLiteJobStore
from tests.unit.mock_server.engines.fakes import EagerEngine, png_of
from tests.unit.mock_server.state.conftest import StoreOpener

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

LEASE = 30.0
T = TypeVar("T")


def eager_job(job_id: int, clock: Clock) -> Job:
    return Job(
        id=job_id,
        operation_id="img_mixer",
        file_prefix=f"prefix-{job_id}",
        state="processing",
        created_at=clock.now(),
        image_job=ImageJob("img_mixer", {"prompt": "rose"}, 8, 8, 1, job_id),
        output=(f"http://m.test/generations/prefix-{job_id}-0.png",),
        meta={},
        generation_time=0.0,
        eager=True,
    )


class Processes:
    """Server processes over the shared store, all on the test's clock."""

    def __init__(self, open_store: StoreOpener, clock: ManualClock) -> None:
        self._open_store = open_store
        self._clock = clock
        self._started: list[Lifecycle] = []

    def start(self) -> tuple[Lifecycle, EagerEngine, list[int]]:
        """One more process: its lifecycle, its engine, and the jobs it saw finish."""
        engine = EagerEngine()
        lifecycle = Lifecycle(self._open_store(), self._clock, engine, lease_s=LEASE)
        finished: list[int] = []

        async def listener(job: Job) -> None:
            finished.append(job.id)

        lifecycle.listeners.append(listener)
        self._started.append(lifecycle)
        return lifecycle, engine, finished

    def run(self, scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The scenario on a fresh event loop; every process's store then gives back what belongs to that
        loop."""

        async def main() -> T:
            try:
                return await scenario()
            finally:
                for lifecycle in self._started:
                    await lifecycle.store.aclose()

        return asyncio.run(main())


@pytest.fixture
def processes(open_store: StoreOpener, clock: ManualClock) -> Processes:
    return Processes(open_store, clock)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def accept(lifecycle: Lifecycle) -> Job:
    """What a create does with an eager engine: store the job, claim it, start rendering it."""
    job = lifecycle.store.create(lambda job_id: eager_job(job_id, lifecycle.clock))
    assert lifecycle.start_engine(job) is not None
    return job


def die(lifecycle: Lifecycle) -> None:
    """The process stops rendering, without giving anything back (SIGKILL)."""
    for task in lifecycle.tasks:
        task.cancel()


async def take_over(lifecycle: Lifecycle, engine: EagerEngine, job: Job) -> None:
    """The process resumes `job`, and only once, then renders it to the end."""
    assert [resumed.id for resumed in lifecycle.resume_unfinished()] == [job.id]
    assert lifecycle.resume_unfinished() == []  # claimed now: not resumed twice
    engine.gate.set()
    await asyncio.gather(*lifecycle.tasks)


def test_work_of_a_process_that_died_is_resumed_once_its_lease_runs_out(
    processes: Processes, clock: ManualClock
) -> None:
    dead, _, _ = processes.start()
    restarted, engine, finished = processes.start()

    async def scenario() -> None:
        job = accept(dead)  # its render never ends: the process dies
        assert restarted.resume_unfinished() == []  # the dead process's lease still runs
        clock.advance(LEASE)
        await take_over(restarted, engine, job)
        stored = restarted.store.get(job.id)
        assert stored is not None
        assert stored.state == "success"
        assert finished == [job.id]
        assert restarted.store.get_image(job.file_prefix, 0) == png_of(8, 8)
        die(dead)

    processes.run(scenario)


def test_a_process_that_renews_its_leases_keeps_its_work(processes: Processes, clock: ManualClock) -> None:
    alive, _, _ = processes.start()
    other, _, _ = processes.start()

    async def scenario() -> None:
        accept(alive)
        for _ in range(5):
            clock.advance(LEASE / 3)
            alive.renew_leases()
            assert other.resume_unfinished() == []
        die(alive)

    processes.run(scenario)


def test_a_clean_shutdown_gives_its_work_to_the_next_process_at_once(
    processes: Processes, clock: ManualClock
) -> None:
    stopping, _, _ = processes.start()
    restarted, engine, finished = processes.start()

    async def scenario() -> None:
        job = accept(stopping)
        clock.advance(1)
        stopping.release_leases()
        die(stopping)
        await settle()
        await take_over(restarted, engine, job)
        assert finished == [job.id]

    processes.run(scenario)


def test_a_job_is_rendered_once_per_process(processes: Processes, clock: ManualClock) -> None:
    lifecycle, engine, _ = processes.start()

    async def scenario() -> list[Any]:
        job = lifecycle.store.create(lambda job_id: eager_job(job_id, clock))
        starts = [lifecycle.start_engine(job), lifecycle.start_engine(job)]
        clock.advance(LEASE)
        resumed = lifecycle.resume_unfinished()
        engine.gate.set()
        await asyncio.gather(*lifecycle.tasks)
        return [starts[0] is not None, starts[1], resumed, engine.rendered]

    assert processes.run(scenario) == [True, None, [], [1]]


def test_the_lease_must_be_positive() -> None:
    with pytest.raises(ValueError, match="lease_s must be more than 0 seconds, got 0"):
        Lifecycle(SQLiteJobStore(":memory:"), ManualClock(), EagerEngine(), lease_s=0)
