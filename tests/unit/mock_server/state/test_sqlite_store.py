"""The SQLite job store: id blocks, round trips, polls, images, group commit, and stores sharing a file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from mock_server.engines.base import ImageJob
from mock_server.state.jobs import Job
from mock_server.state.sqlite_store import SQLiteJobStore

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def _job(job_id: int, **changes: object) -> Job:
    image_job = ImageJob("magic_mix", {"prompt": "Bed", "seed": 2**80}, 64, 48, 1, 2**80)
    fields: dict[str, object] = {
        "id": job_id,
        "operation_id": "magic_mix_v5",
        "file_prefix": f"prefix-{job_id}",
        "state": "processing",
        "created_at": 1.0,
        "image_job": image_job,
        "output": ("http://m.test/generations/a.png",),
        "meta": {"H": 48},
        "generation_time": 1.5,
        "polls_needed": 2,
        "track_id": 7,
    }
    fields.update(changes)
    return Job(**fields)  # type: ignore[arg-type]


def test_round_trip_and_lookup_by_prefix() -> None:
    store = SQLiteJobStore(":memory:")
    job = _job(store.reserve_id())
    store.save(job)
    assert store.get(job.id) == job
    assert store.by_prefix(job.file_prefix) == job
    assert store.get(job.id + 1) is None


def test_reserved_but_unsaved_ids_are_not_jobs() -> None:
    store = SQLiteJobStore(":memory:")
    job_id = store.reserve_id()
    assert store.get(job_id) is None
    assert store.record_poll(job_id) is None


def test_polls_are_counted_atomically() -> None:
    store = SQLiteJobStore(":memory:")
    job = _job(store.reserve_id())
    store.save(job)
    assert [store.record_poll(job.id).polls for _ in range(3)] == [1, 2, 3]  # type: ignore[union-attr]


def test_images(tmp_path: Path) -> None:
    store = SQLiteJobStore(str(tmp_path / "jobs.sqlite3"))
    store.put_images("p", [b"zero", b"one"])
    assert (store.get_image("p", 1), store.get_image("p", 2)) == (b"one", None)


def test_two_stores_share_jobs_and_hand_out_disjoint_id_blocks(tmp_path: Path) -> None:
    path = str(tmp_path / "shared" / "jobs.sqlite3")
    first, second = SQLiteJobStore(path, id_block=4), SQLiteJobStore(path, id_block=4)
    ids = [first.reserve_id(), second.reserve_id(), first.reserve_id()]
    job = _job(ids[0])
    first.save(job)
    assert ids == [1, 5, 2]  # each store takes its own block of 4; ids rise within a store
    assert second.get(ids[0]) == job
    first.close()
    second.close()


def test_a_reopened_store_starts_a_new_block_and_never_reuses_an_id(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite3")
    store = SQLiteJobStore(path, id_block=4)
    used = [store.create(_job).id for _ in range(2)]
    store.close()
    reopened = SQLiteJobStore(path, id_block=4)
    assert used == [1, 2]
    assert reopened.create(_job).id == 5  # ids 3 and 4 went with the first block
    reopened.close()


def test_ids_continue_after_a_store_file_without_id_blocks(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite3")
    legacy = sqlite3.connect(path)
    legacy.execute(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, file_prefix TEXT UNIQUE, "
        "doc TEXT NOT NULL, polls INTEGER NOT NULL DEFAULT 0)"
    )
    legacy.execute("INSERT INTO jobs (id, doc) VALUES (41, '')")
    legacy.commit()
    legacy.close()
    store = SQLiteJobStore(path)
    assert store.create(_job).id == 42
    store.close()


def test_grouped_creates_share_one_write_and_are_stored_when_they_return(tmp_path: Path) -> None:
    store = SQLiteJobStore(str(tmp_path / "jobs.sqlite3"))

    async def create_three() -> list[Job]:
        return list(await asyncio.gather(*(store.create_grouped(_job) for _ in range(3))))

    made = asyncio.run(create_three())
    assert [job.id for job in made] == [1, 2, 3]
    assert [store.get(job.id) for job in made] == made
    store.close()


def test_a_grouped_create_whose_write_fails_raises() -> None:
    store = SQLiteJobStore(":memory:")
    store.create(lambda job_id: _job(job_id, file_prefix="taken"))

    async def clash() -> Job:
        return await store.create_grouped(lambda job_id: _job(job_id, file_prefix="taken"))

    with pytest.raises(sqlite3.IntegrityError, match="file_prefix"):
        asyncio.run(clash())


def test_a_job_built_for_another_id_is_refused_by_id() -> None:
    store = SQLiteJobStore(":memory:")
    with pytest.raises(ValueError, match="the job built for id 1 has id 7"):
        store.create(lambda job_id: _job(7))


def test_create_builds_the_job_for_its_id_in_one_write() -> None:
    store = SQLiteJobStore(":memory:")
    made = [store.create(lambda job_id: _job(job_id)) for _ in range(3)]
    assert [job.id for job in made] == [1, 2, 3]
    assert store.get(2) == made[1]


def test_create_leaves_no_job_when_building_fails() -> None:
    store = SQLiteJobStore(":memory:")

    def broken(job_id: int) -> Job:
        raise ValueError(f"cannot build job {job_id}")

    with pytest.raises(ValueError, match="cannot build job 1"):
        store.create(broken)
    assert store.get(1) is None
    assert store.create(lambda job_id: _job(job_id)).id == 1  # the rolled-back id was never a job
