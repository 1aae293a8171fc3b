"""How jobs end, and engine work that survives its process: claimed, renewed, resumed, released; on
SQLite and on Redis (each process opens its own store on the shared state)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from mock_server.engines.base import ImageJob
from mock_server.state.clock import ManualClock
from mock_server.state.jobs import Job, JobStore
from mock_server.state.lifecycle import Lifecycle
from mock_server.state.sqlite_store import SQLiteJobStore
from tests.unit.mock_server.engines.fakes import EagerEngine, png_of
from tests.unit.mock_server.state.conftest import StoreOpener

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

LEASE = 30.0
T = TypeVar("T")
Processes = Callable[[ManualClock], tuple[Lifecycle, EagerEngine, list[int]]]


def eager_job(job_id: int, clock: ManualClock) -> Job:
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


@pytest.fixture
def processes(open_store: StoreOpener) -> Processes:
    """`processes(clock)`: one more server process's lifecycle over the shared store, its engine, and the
    jobs it saw finish."""

    def start(clock: ManualClock) -> tuple[Lifecycle, EagerEngine, list[int]]:
        engine = EagerEngine()
        lifecycle = Lifecycle(open_store(), clock, engine, lease_s=LEASE)
        finished: list[int] = []

        async def listener(job: Job) -> None:
            finished.append(job.id)

        lifecycle.listeners.append(listener)
        return lifecycle, engine, finished

    return start


def run(scenario: Callable[[], Coroutine[Any, Any, T]], *stores: JobStore) -> T:
    """The scenario on a fresh event loop; the stores then give back what belongs to that loop."""

    async def main() -> T:
        try:
            return await scenario()
        finally:
            for store in stores:
                await store.aclose()

    return asyncio.run(main())


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def accept(lifecycle: Lifecycle, clock: ManualClock) -> Job:
    """What a create does with an eager engine: store the job, claim it, start rendering it."""
    job = lifecycle.store.create(lambda job_id: eager_job(job_id, clock))
    assert lifecycle.start_engine(job) is not None
    return job


def die(lifecycle: Lifecycle) -> None:
    """The process stops rendering, without giving anything back (SIGKILL)."""
    for task in lifecycle.tasks:
        task.cancel()


def test_work_of_a_process_that_died_is_resumed_once_its_lease_runs_out(processes: Processes) -> None:
    clock = ManualClock()
    dead, _, _ = processes(clock)
    restarted, engine, finished = processes(clock)

    async def scenario() -> None:
        job = accept(dead, clock)  # its render never ends: the process dies
        assert restarted.resume_unfinished() == []  # the dead process's lease still runs
        clock.advance(LEASE)
        assert [resumed.id for resumed in restarted.resume_unfinished()] == [job.id]
        assert restarted.resume_unfinished() == []  # claimed now: not resumed twice
        engine.gate.set()
        await asyncio.gather(*restarted.tasks)
        stored = restarted.store.get(job.id)
        assert stored is not None
        assert stored.state == "success"
        assert finished == [job.id]
        assert restarted.store.get_image(job.file_prefix, 0) == png_of(8, 8)
        die(dead)

    run(scenario, dead.store, restarted.store)


def test_a_process_that_renews_its_leases_keeps_its_work(processes: Processes) -> None:
    clock = ManualClock()
    alive, _, _ = processes(clock)
    other, _, _ = processes(clock)

    async def scenario() -> None:
        accept(alive, clock)
        for _ in range(5):
            clock.advance(LEASE / 3)
            alive.renew_leases()
            assert other.resume_unfinished() == []
        die(alive)

    run(scenario, alive.store, other.store)


def test_a_clean_shutdown_gives_its_work_to_the_next_process_at_once(processes: Processes) -> None:
    clock = ManualClock()
    stopping, _, _ = processes(clock)
    restarted, engine, finished = processes(clock)

    async def scenario() -> None:
        job = accept(stopping, clock)
        clock.advance(1)
        stopping.release_leases()
        die(stopping)
        await settle()
        assert [resumed.id for resumed in restarted.resume_unfinished()] == [job.id]
        engine.gate.set()
        await asyncio.gather(*restarted.tasks)
        assert finished == [job.id]

    run(scenario, stopping.store, restarted.store)


def test_a_job_is_rendered_once_per_process(processes: Processes) -> None:
    clock = ManualClock()
    lifecycle, engine, _ = processes(clock)

    async def scenario() -> list[Any]:
        job = lifecycle.store.create(lambda job_id: eager_job(job_id, clock))
        starts = [lifecycle.start_engine(job), lifecycle.start_engine(job)]
        clock.advance(LEASE)
        resumed = lifecycle.resume_unfinished()
        engine.gate.set()
        await asyncio.gather(*lifecycle.tasks)
        return [starts[0] is not None, starts[1], resumed, engine.rendered]

    assert run(scenario, lifecycle.store) == [True, None, [], [1]]


def test_the_lease_must_be_positive() -> None:
    with pytest.raises(ValueError, match="lease_s must be more than 0 seconds, got 0"):
        Lifecycle(SQLiteJobStore(":memory:"), ManualClock(), EagerEngine(), lease_s=0)
