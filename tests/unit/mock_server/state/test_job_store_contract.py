"""What every JobStore guarantees, on SQLite and on Redis (the same tests): ids, atomic polls, grouped
creates, pages, the queue limit's count, purge, the event loop's variants, engine work leases and
resume, the keyed digest's secret, failures as StoreError, and the health check behind `/ready`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from mock_server.state.jobs import Job, JobStore, StoreError, Window, decode_job, encode_job, key_digest
from tests.unit.mock_server.state.conftest import StoreOpener
from tests.unit.mock_server.state.jobs_fixtures import make_job

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

LEASE = 30.0
NOW = 1_000.0


def test_round_trip_and_lookup_by_prefix(store: JobStore) -> None:
    job = make_job(store.reserve_id())
    store.save(job)
    assert store.get(job.id) == job
    assert store.by_prefix(job.file_prefix) == job
    assert store.get(job.id + 1) is None
    assert store.by_prefix("no-such-prefix") is None


def test_a_job_keeps_its_session_and_a_document_without_one_reads_as_the_default(store: JobStore) -> None:
    job = store.create(lambda job_id: make_job(job_id, session="gw1-0123456789"))
    assert store.get(job.id) == job
    assert store.get(job.id).session == "gw1-0123456789"  # type: ignore[union-attr]
    document = encode_job(make_job(7)).replace(',"session":""', "")  # as written before sessions
    assert '"session"' not in document
    assert decode_job(document, 0).session == ""


def test_a_keys_queue_is_counted_per_session() -> None:
    secret = b"s" * 32
    assert key_digest("sk-1", secret) == key_digest("sk-1", secret, "")
    assert key_digest("sk-1", secret, "t1") != key_digest("sk-1", secret)
    assert key_digest("sk-1", secret, "t1") != key_digest("sk-1", secret, "t2")


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


def engine_job(store: JobStore, **changes: Any) -> Job:
    changes = {"created_at": NOW, "polls_needed": None, **changes}
    return store.create(lambda job_id: make_job(job_id, eager=True, **changes))


def test_a_page_is_the_newest_jobs_oldest_first_and_continues_with_before(store: JobStore) -> None:
    ids = [store.create(make_job).id for _ in range(5)]
    first = store.page(Window(2))
    assert [job.id for job in first.items] == ids[3:]
    assert first.next_before == ids[3]
    second = store.page(Window(2, first.next_before))
    assert [job.id for job in second.items] == ids[1:3]
    last = store.page(Window(2, second.next_before))
    assert [job.id for job in last.items] == ids[:1]
    assert last.next_before is None


def test_a_page_stops_at_its_byte_budget_but_holds_at_least_one_job(store: JobStore) -> None:
    big = {"prompt": "p" * 100_000}
    ids = [store.create(lambda job_id: make_job(job_id, meta=big)).id for _ in range(4)]
    page = store.page(Window(100, max_bytes=250_000))
    assert [job.id for job in page.items] == ids[2:]
    assert page.next_before == ids[2]
    assert [job.id for job in store.page(Window(100, max_bytes=1)).items] == ids[3:]


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
    async def create() -> Job:
        try:
            return await store.create_grouped(lambda job_id: make_job(job_id, eager=True, created_at=NOW))
        finally:
            await store.aclose()

    job = asyncio.run(create())
    assert [found.id for found in store.unfinished_engine_jobs(NOW + LEASE, LEASE)] == [job.id]


def test_purge_forgets_the_engine_work_of_purged_jobs(store: JobStore) -> None:
    engine_job(store, created_at=10.0)
    assert store.purge(before=100.0) == 1
    assert store.unfinished_engine_jobs(NOW + LEASE, LEASE) == []


def test_the_secret_is_made_once_and_shared(open_store: StoreOpener) -> None:
    first, second, elsewhere = open_store(), open_store(), open_store(elsewhere=True)
    assert len(first.secret()) >= 16
    assert first.secret() == second.secret()
    assert elsewhere.secret() != first.secret()
    assert key_digest("sk-1", first.secret()) == key_digest("sk-1", second.secret())
    assert key_digest("sk-1", first.secret()) != key_digest("sk-1", elsewhere.secret())


def test_a_working_store_is_healthy(store: JobStore) -> None:
    assert store.health() is None


def test_a_store_that_cannot_write_raises_store_error_and_reports_it(
    store: JobStore, break_writes: Callable[[], None]
) -> None:
    job = store.create(make_job)
    store.secret()  # read while the store works
    break_writes()
    with pytest.raises(StoreError):
        store.create(make_job)
    with pytest.raises(StoreError):
        store.save(job.finished("success"))
    assert store.health() is not None
    assert store.get(job.id) == job  # what is stored can still be read
