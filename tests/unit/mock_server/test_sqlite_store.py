"""The SQLite job store: ids, round trips, polls, images, and two connections sharing one file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.engines.base import ImageJob
from mock_server.jobs import Job
from mock_server.sqlite_store import SQLiteJobStore

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


def test_two_connections_share_jobs_and_never_reuse_ids(tmp_path: Path) -> None:
    path = str(tmp_path / "shared" / "jobs.sqlite3")
    first, second = SQLiteJobStore(path), SQLiteJobStore(path)
    ids = [first.reserve_id(), second.reserve_id(), first.reserve_id()]
    job = _job(ids[0])
    first.save(job)
    assert ids == sorted(set(ids))
    assert second.get(ids[0]) == job
    first.close()
    second.close()


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
