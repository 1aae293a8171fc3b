"""How jobs end, and engine work that survives its process: claimed, renewed, resumed, released."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mock_server.engines.base import ImageJob
from mock_server.state.clock import ManualClock
from mock_server.state.jobs import Job
from mock_server.state.lifecycle import Lifecycle
from mock_server.state.sqlite_store import SQLiteJobStore
from tests.unit.mock_server.engines.fakes import EagerEngine, png_of

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

LEASE = 30.0


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


def process(path: Path, clock: ManualClock) -> tuple[Lifecycle, EagerEngine, list[int]]:
    """One server process's lifecycle over the shared store file, and the jobs it saw finish."""
    engine = EagerEngine()
    lifecycle = Lifecycle(SQLiteJobStore(str(path)), clock, engine, lease_s=LEASE)
    finished: list[int] = []

    async def listener(job: Job) -> None:
        finished.append(job.id)

    lifecycle.listeners.append(listener)
    return lifecycle, engine, finished


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


def test_work_of_a_process_that_died_is_resumed_once_its_lease_runs_out(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        dead, _, _ = process(path, clock)
        job = accept(dead, clock)  # its render never ends: the process dies
        restarted, engine, finished = process(path, clock)
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

    asyncio.run(scenario())


def test_a_process_that_renews_its_leases_keeps_its_work(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        alive, _, _ = process(path, clock)
        accept(alive, clock)
        other, _, _ = process(path, clock)
        for _ in range(5):
            clock.advance(LEASE / 3)
            alive.renew_leases()
            assert other.resume_unfinished() == []
        die(alive)

    asyncio.run(scenario())


def test_a_clean_shutdown_gives_its_work_to_the_next_process_at_once(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        stopping, _, _ = process(path, clock)
        job = accept(stopping, clock)
        clock.advance(1)
        stopping.release_leases()
        die(stopping)
        await settle()
        restarted, engine, finished = process(path, clock)
        assert [resumed.id for resumed in restarted.resume_unfinished()] == [job.id]
        engine.gate.set()
        await asyncio.gather(*restarted.tasks)
        assert finished == [job.id]

    asyncio.run(scenario())


def test_a_job_is_rendered_once_per_process(tmp_path: Path) -> None:
    clock = ManualClock()

    async def scenario() -> list[Any]:
        lifecycle, engine, _ = process(tmp_path / "store.sqlite3", clock)
        job = lifecycle.store.create(lambda job_id: eager_job(job_id, clock))
        starts = [lifecycle.start_engine(job), lifecycle.start_engine(job)]
        clock.advance(LEASE)
        resumed = lifecycle.resume_unfinished()
        engine.gate.set()
        await asyncio.gather(*lifecycle.tasks)
        return [starts[0] is not None, starts[1], resumed, engine.rendered]

    assert asyncio.run(scenario()) == [True, None, [], [1]]


def test_the_lease_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lease_s must be more than 0 seconds, got 0"):
        Lifecycle(SQLiteJobStore(":memory:"), ManualClock(), EagerEngine(), lease_s=0)
