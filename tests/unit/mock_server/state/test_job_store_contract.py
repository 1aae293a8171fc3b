"""What every JobStore guarantees (each backend): pages, engine work leases and resume, the keyed
digest's secret, failures as StoreError, and the health check behind `/ready`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.engines.base import ImageJob
from mock_server.state.jobs import Job, JobStore, StoreError, key_digest
from tests.unit.mock_server.backends import Backend

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

LEASE = 30.0
NOW = 1_000.0


def make_job(job_id: int, **changes: Any) -> Job:
    fields: dict[str, Any] = {
        "id": job_id,
        "operation_id": "img_mixer",
        "file_prefix": f"prefix-{job_id}",
        "state": "processing",
        "created_at": NOW,
        "image_job": ImageJob("img_mixer", {"prompt": "rose man"}, 64, 64, 1, 7),
        "output": (f"http://m.test/generations/prefix-{job_id}-0.png",),
        "meta": {"prompt": "rose man"},
        "generation_time": 1.0,
    }
    fields.update(changes)
    return Job(**fields)


@pytest.fixture
def store(backend: Backend, location: str) -> Iterator[JobStore]:
    opened = backend.job_store(location)
    yield opened
    opened.close()


@pytest.fixture
def other(backend: Backend, location: str) -> Iterator[JobStore]:
    """A second process's view of the same store."""
    opened = backend.job_store(location)
    yield opened
    opened.close()


def engine_job(store: JobStore, **changes: Any) -> Job:
    return store.create(lambda job_id: make_job(job_id, eager=True, **changes))


def test_a_page_is_the_newest_jobs_oldest_first_and_continues_with_before(store: JobStore) -> None:
    ids = [store.create(make_job).id for _ in range(5)]
    first = store.page(2)
    assert [job.id for job in first.items] == ids[3:]
    assert first.next_before == ids[3]
    second = store.page(2, before=first.next_before)
    assert [job.id for job in second.items] == ids[1:3]
    last = store.page(2, before=second.next_before)
    assert [job.id for job in last.items] == ids[:1]
    assert last.next_before is None


def test_a_page_stops_at_its_byte_budget_but_holds_at_least_one_job(store: JobStore) -> None:
    big = {"prompt": "p" * 100_000}
    ids = [store.create(lambda job_id: make_job(job_id, meta=big)).id for _ in range(4)]
    page = store.page(100, max_bytes=250_000)
    assert [job.id for job in page.items] == ids[2:]
    assert page.next_before == ids[2]
    assert [job.id for job in store.page(100, max_bytes=1).items] == ids[3:]


@pytest.mark.parametrize("job_id", [-1, 2**63, 10**5000], ids=["negative", "2**63", "5000-digits"])
def test_ids_no_job_can_have_are_simply_unknown(store: JobStore, job_id: int) -> None:
    assert store.get(job_id) is None


def test_engine_work_is_left_to_its_creator_until_the_lease_time_has_passed(store: JobStore) -> None:
    job = engine_job(store)
    assert store.unfinished_engine_jobs(NOW + LEASE - 1, LEASE) == []
    assert [found.id for found in store.unfinished_engine_jobs(NOW + LEASE, LEASE)] == [job.id]


def test_a_lease_is_held_by_one_owner_until_it_runs_out(store: JobStore, other: JobStore) -> None:
    job = engine_job(store)
    assert store.claim_engine_job(job.id, "first", NOW, LEASE)
    assert not other.claim_engine_job(job.id, "second", NOW + 1, LEASE)
    assert store.claim_engine_job(job.id, "first", NOW + 20, LEASE)  # renewed: runs to NOW + 50
    assert other.unfinished_engine_jobs(NOW + 40, LEASE) == []
    assert not other.claim_engine_job(job.id, "second", NOW + 40, LEASE)
    assert [found.id for found in other.unfinished_engine_jobs(NOW + 50, LEASE)] == [job.id]
    assert other.claim_engine_job(job.id, "second", NOW + 50, LEASE)  # its holder stopped renewing
    assert not store.claim_engine_job(job.id, "first", NOW + 51, LEASE)


def test_a_released_lease_may_be_resumed_at_once(store: JobStore, other: JobStore) -> None:
    job = engine_job(store)
    assert store.claim_engine_job(job.id, "first", NOW, LEASE)
    store.release_engine_job(job.id, "someone-else")  # only the holder can let go
    assert other.unfinished_engine_jobs(NOW + 1, LEASE) == []
    store.release_engine_job(job.id, "first")
    assert [found.id for found in other.unfinished_engine_jobs(NOW + 1, LEASE)] == [job.id]
    assert other.claim_engine_job(job.id, "second", NOW + 1, LEASE)


def test_finished_jobs_are_no_engine_work(store: JobStore) -> None:
    job = engine_job(store)
    assert store.claim_engine_job(job.id, "first", NOW, LEASE)
    store.save(job.finished("success"))
    assert store.unfinished_engine_jobs(NOW + 10 * LEASE, LEASE) == []
    assert not store.claim_engine_job(job.id, "second", NOW + 10 * LEASE, LEASE)


def test_only_eager_processing_jobs_are_engine_work(store: JobStore) -> None:
    store.create(make_job)  # a lazy engine's job
    store.create(lambda job_id: make_job(job_id, eager=True, state="success"))
    waiting = engine_job(store)
    later = NOW + 10 * LEASE
    assert [job.id for job in store.unfinished_engine_jobs(later, LEASE)] == [waiting.id]
    assert not store.claim_engine_job(waiting.id + 100, "first", later, LEASE)  # no such job


def test_grouped_creates_record_engine_work_too(store: JobStore) -> None:
    job = asyncio.run(store.create_grouped(lambda job_id: make_job(job_id, eager=True)))
    assert [found.id for found in store.unfinished_engine_jobs(NOW + LEASE, LEASE)] == [job.id]


def test_purge_forgets_the_engine_work_of_purged_jobs(store: JobStore) -> None:
    engine_job(store, created_at=10.0)
    assert store.purge(before=100.0) == 1
    assert store.unfinished_engine_jobs(NOW + LEASE, LEASE) == []


def test_the_secret_is_made_once_and_shared(backend: Backend, location: str, tmp_path: Any) -> None:
    first, second = backend.job_store(location), backend.job_store(location)
    elsewhere = backend.job_store(backend.location(tmp_path / "other"))
    try:
        assert len(first.secret()) >= 16
        assert first.secret() == second.secret()
        assert elsewhere.secret() != first.secret()
        assert key_digest("sk-1", first.secret()) == key_digest("sk-1", second.secret())
        assert key_digest("sk-1", first.secret()) != key_digest("sk-1", elsewhere.secret())
    finally:
        for opened in (first, second, elsewhere):
            opened.close()


def test_a_working_store_is_healthy(store: JobStore) -> None:
    assert store.health() is None


def test_a_store_that_cannot_write_raises_store_error_and_reports_it(
    backend: Backend, location: str, store: JobStore
) -> None:
    job = store.create(make_job)
    backend.break_writes(location)
    with pytest.raises(StoreError):
        store.create(make_job)
    with pytest.raises(StoreError):
        store.save(job.finished("success"))
    assert store.health() is not None
    assert store.get(job.id) == job  # what is stored can still be read
