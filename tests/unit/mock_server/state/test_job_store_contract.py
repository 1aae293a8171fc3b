"""The JobStore contract, run against every backend (SQLite and Redis): the same tests, same guarantees."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mock_server.state.jobs import Job, JobStore, StoreUnavailableError
from tests.unit.mock_server.state.conftest import StoreOpener
from tests.unit.mock_server.state.jobs_fixtures import make_job

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def test_round_trip_and_lookup_by_prefix(store: JobStore) -> None:
    job = make_job(store.reserve_id())
    store.save(job)
    assert store.get(job.id) == job
    assert store.by_prefix(job.file_prefix) == job
    assert store.get(job.id + 1) is None
    assert store.by_prefix("no-such-prefix") is None


def test_reserved_but_unsaved_ids_are_not_jobs(store: JobStore) -> None:
    job_id = store.reserve_id()
    assert store.get(job_id) is None
    assert store.record_poll(job_id) is None


def test_saving_an_unreserved_id_writes_nothing(store: JobStore) -> None:
    store.save(make_job(999))
    assert store.get(999) is None


def test_polls_are_counted_atomically(store: JobStore) -> None:
    job = store.create(make_job)
    assert [store.record_poll(job.id).polls for _ in range(3)] == [1, 2, 3]  # type: ignore[union-attr]


def test_polls_from_many_threads_are_each_counted_once(open_store: StoreOpener) -> None:
    job = open_store().create(make_job)
    stores = [open_store() for _ in range(4)]
    seen: list[int] = []
    lock = threading.Lock()

    def poll(store: JobStore) -> None:
        for _ in range(25):
            polled = store.record_poll(job.id)
            assert polled is not None
            with lock:
                seen.append(polled.polls)

    threads = [threading.Thread(target=poll, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(seen) == list(range(1, 101))  # no count lost, none seen twice


def test_a_saved_state_keeps_the_polls_counted_meanwhile(store: JobStore) -> None:
    job = store.create(make_job)
    store.record_poll(job.id)
    store.save(job.finished("success"))
    found = store.get(job.id)
    assert found is not None
    assert (found.state, found.polls) == ("success", 1)


def test_images(store: JobStore) -> None:
    job = store.create(make_job)
    store.put_images(job.file_prefix, [b"zero", b"one"])
    assert (store.get_image(job.file_prefix, 1), store.get_image(job.file_prefix, 2)) == (b"one", None)
    assert store.get_image("no-such-prefix", 0) is None


def test_two_stores_share_jobs_and_hand_out_disjoint_id_blocks(open_store: StoreOpener) -> None:
    first, second = open_store(id_block=4), open_store(id_block=4)
    ids = [first.reserve_id(), second.reserve_id(), first.reserve_id()]
    job = make_job(ids[0])
    first.save(job)
    assert ids == [1, 5, 2]  # each store takes its own block of 4; ids rise within a store
    assert second.get(ids[0]) == job


def test_a_reopened_store_starts_a_new_block_and_never_reuses_an_id(open_store: StoreOpener) -> None:
    store = open_store(id_block=4)
    used = [store.create(make_job).id for _ in range(2)]
    store.close()
    reopened = open_store(id_block=4)
    assert used == [1, 2]
    assert reopened.create(make_job).id == 5  # ids 3 and 4 went with the first block


def test_grouped_creates_share_one_write_and_are_stored_when_they_return(store: JobStore) -> None:
    async def create_three() -> list[Job]:
        made = list(await asyncio.gather(*(store.create_grouped(make_job) for _ in range(3))))
        await store.aclose()
        return made

    made = asyncio.run(create_three())
    assert [job.id for job in made] == [1, 2, 3]
    assert [store.get(job.id) for job in made] == made


def test_a_job_built_for_another_id_is_refused_by_id(store: JobStore) -> None:
    with pytest.raises(ValueError, match="the job built for id 1 has id 7"):
        store.create(lambda job_id: make_job(7))


def test_create_builds_the_job_for_its_id_in_one_write(store: JobStore) -> None:
    made = [store.create(lambda job_id: make_job(job_id)) for _ in range(3)]
    assert [job.id for job in made] == [1, 2, 3]
    assert store.get(2) == made[1]


def test_create_leaves_no_job_when_building_fails(store: JobStore) -> None:
    def broken(job_id: int) -> Job:
        raise ValueError(f"cannot build job {job_id}")

    with pytest.raises(ValueError, match="cannot build job 1"):
        store.create(broken)
    assert store.get(1) is None
    assert store.count() == 0


def test_recent_gives_the_newest_jobs_oldest_first(store: JobStore) -> None:
    made = [store.create(lambda job_id: make_job(job_id, created_at=float(job_id))) for _ in range(5)]
    assert [job.id for job in store.recent(3)] == [job.id for job in made[2:]]
    assert [job.id for job in store.recent(10)] == [job.id for job in made]


def test_pending_count_counts_a_keys_processing_jobs_until_they_are_due(store: JobStore) -> None:
    mine, other = {"key": "digest-a"}, {"key": "digest-b"}
    store.create(lambda i: make_job(i, extra=mine, ready_at=10.0, polls_needed=None))
    store.create(lambda i: make_job(i, extra=mine, ready_at=None, polls_needed=3))
    store.create(lambda i: make_job(i, extra=mine, state="success"))
    store.create(lambda i: make_job(i, extra=other, ready_at=10.0, polls_needed=None))
    assert store.pending_count("digest-a", now=5.0) == 2
    assert store.pending_count("digest-a", now=11.0) == 1  # the timed one is due; the polled one is not
    assert store.pending_count("digest-c", now=5.0) == 0


def test_a_finished_job_stops_counting_for_its_key(store: JobStore) -> None:
    job = store.create(lambda i: make_job(i, extra={"key": "digest-a"}, ready_at=None, polls_needed=3))
    assert store.pending_count("digest-a", now=5.0) == 1
    store.save(job.finished("success"))
    assert store.pending_count("digest-a", now=5.0) == 0


def test_purge_deletes_old_jobs_and_their_images(store: JobStore) -> None:
    old = store.create(lambda i: make_job(i, created_at=1.0))
    new = store.create(lambda i: make_job(i, created_at=100.0))
    store.put_images(old.file_prefix, [b"old"])
    assert store.purge(before=50.0) == 1
    assert store.get(old.id) is None
    assert store.by_prefix(old.file_prefix) is None
    assert store.get_image(old.file_prefix, 0) is None
    assert store.get(new.id) == new
    assert store.count() == 1


def test_ping_answers_while_the_store_is_up(store: JobStore) -> None:
    store.ping()  # raises StoreUnavailableError otherwise
    assert issubclass(StoreUnavailableError, RuntimeError)


def test_the_event_loop_variants_read_count_and_write_the_same_state(store: JobStore) -> None:
    job = store.create(make_job)

    async def on_the_loop() -> tuple[Job | None, Job | None, Job | None]:
        try:
            found = await store.aget(job.id)
            polled = await store.arecord_poll(job.id)
            await store.asave(job.finished("failed", "no luck"))
            missing = await store.aget(job.id + 1000)
            assert await store.arecord_poll(job.id + 1000) is None
            return found, polled, missing
        finally:
            await store.aclose()

    found, polled, missing = asyncio.run(on_the_loop())
    assert found == job
    assert polled is not None
    assert polled.polls == 1
    assert missing is None
    stored = store.get(job.id)
    assert stored is not None
    assert (stored.state, stored.message, stored.polls) == ("failed", "no luck", 1)
