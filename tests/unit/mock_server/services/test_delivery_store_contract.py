"""What every DeliveryStore guarantees, on SQLite and on Redis: one delivery per job, one sender per
delivery while its lease runs, no hastening of an attempt in flight, every attempt appended to the log,
pages, purge, and a failing store raising StoreError."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mock_server.services.deliveries import Attempt, Delivery, DeliveryStore, Turn
from mock_server.state.jobs import StoreError, Window
from tests.conftest import StateOpener

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

HOOK = "http://127.0.0.1:9/hook"
LEASE = 15.0


@pytest.fixture
def store(open_state: StateOpener) -> DeliveryStore:
    return open_state().deliveries


@pytest.fixture
def other(open_state: StateOpener) -> DeliveryStore:
    """A second process's view of the same store."""
    return open_state().deliveries


def pending(store: DeliveryStore, *job_ids: int, at: float = 0.0) -> None:
    for job_id in job_ids:
        store.add(Delivery.new(job_id, HOOK, created_at=0.0, next_at=at, state="pending"))


def test_adding_twice_keeps_the_first_delivery(store: DeliveryStore) -> None:
    first = store.add(Delivery.new(1, HOOK, created_at=0.0, next_at=5.0, state="pending"))
    again = store.add(
        Delivery.new(1, "http://127.0.0.1:9/other", created_at=1.0, next_at=0.0, state="refused")
    )
    assert again == first
    assert (first.job_id, first.url, first.state, first.next_at) == (1, HOOK, "pending", 5.0)
    assert store.for_job(1) == first
    assert store.for_job(2) is None


def test_a_refused_delivery_keeps_its_attempt_and_is_never_due(store: DeliveryStore) -> None:
    refused = Attempt(1.0, None, "refused: host 'example.com' is not allowed")
    added = store.add(
        Delivery.new(3, "http://example.com/h", created_at=1.0, next_at=1.0, state="refused", attempt=refused)
    )
    assert added.attempts == (refused,)
    assert store.claim_due(100.0, owner="one", lease_s=LEASE) == []


def test_two_senders_never_claim_the_same_delivery(store: DeliveryStore, other: DeliveryStore) -> None:
    pending(store, *range(10))
    first = store.claim_due(1.0, owner="one", lease_s=LEASE)
    second = other.claim_due(1.0, owner="two", lease_s=LEASE)
    assert sorted(d.job_id for d in first) == list(range(10))
    assert second == []
    taken_over = other.claim_due(1.0 + LEASE, owner="two", lease_s=LEASE)  # the first sender died
    assert sorted(d.job_id for d in taken_over) == list(range(10))


def test_only_due_deliveries_are_claimed(store: DeliveryStore) -> None:
    pending(store, 1, at=5.0)
    pending(store, 2, at=1.0)
    assert [d.job_id for d in store.claim_due(2.0, owner="one", lease_s=LEASE)] == [2]


def test_hasten_leaves_a_leased_delivery_alone(store: DeliveryStore, other: DeliveryStore) -> None:
    pending(store, 1, at=0.0)
    (claimed,) = store.claim_due(1.0, owner="one", lease_s=LEASE)
    assert not other.hasten(1, 2.0)  # the job finished elsewhere while the attempt is in flight
    assert other.claim_due(2.0, owner="two", lease_s=LEASE) == []
    assert store.release(claimed.id, "one", Turn("pending", 60.0))
    assert other.hasten(1, 3.0)  # no lease now: due at once
    assert [d.job_id for d in other.claim_due(3.0, owner="two", lease_s=LEASE)] == [1]


def test_hasten_makes_a_pending_delivery_due_now(store: DeliveryStore) -> None:
    pending(store, 5, at=50.0)
    assert store.hasten(5, 10.0)
    assert not store.hasten(5, 20.0)  # already due
    assert not store.hasten(6, 10.0)  # no delivery
    assert [d.job_id for d in store.claim_due(10.0, owner="one", lease_s=LEASE)] == [5]


def test_release_writes_the_outcome_and_frees_the_delivery(store: DeliveryStore) -> None:
    pending(store, 1)
    (claimed,) = store.claim_due(1.0, owner="one", lease_s=LEASE)
    attempt = Attempt(2.0, 503, None)
    turn = Turn("pending", 4.0, attempt=attempt, payload={"id": 1}, finished_at=1.5)
    written = store.release(claimed.id, "one", turn)
    assert written
    found = store.for_job(1)
    assert found is not None
    assert (found.state, found.next_at, found.attempts) == ("pending", 4.0, (attempt,))
    assert (found.payload, found.finished_at) == ({"id": 1}, 1.5)
    assert [d.job_id for d in store.claim_due(4.0, owner="two", lease_s=LEASE)] == [1]


def test_a_sender_whose_lease_was_taken_logs_its_attempt_but_decides_nothing(
    store: DeliveryStore, other: DeliveryStore
) -> None:
    pending(store, 1)
    (late,) = store.claim_due(1.0, owner="one", lease_s=LEASE)
    (taken,) = other.claim_due(1.0 + LEASE, owner="two", lease_s=LEASE)
    assert other.release(taken.id, "two", Turn("delivered", 17.0, attempt=Attempt(17.0, 200, None)))
    assert not store.release(late.id, "one", Turn("pending", 99.0, attempt=Attempt(18.0, 500, None)))
    found = store.for_job(1)
    assert found is not None
    assert found.state == "delivered"
    assert sorted(a.status or 0 for a in found.attempts) == [200, 500]  # both POSTs happened: both logged


def test_attempts_are_appended_not_overwritten(store: DeliveryStore) -> None:
    pending(store, 1)
    for round_ in range(5):
        (claimed,) = store.claim_due(float(round_ * 100), owner=f"sender-{round_}", lease_s=LEASE)
        attempt = Attempt(float(round_ * 100), 500, None)
        assert store.release(claimed.id, f"sender-{round_}", Turn("pending", 0.0, attempt=attempt))
    found = store.for_job(1)
    assert found is not None
    assert [a.at for a in found.attempts] == [0.0, 100.0, 200.0, 300.0, 400.0]


def test_pages_filter_by_state_and_continue_with_before(store: DeliveryStore) -> None:
    for job_id in range(1, 6):
        store.add(
            Delivery.new(
                job_id, HOOK, created_at=0.0, next_at=0.0, state="pending" if job_id % 2 else "refused"
            )
        )
    first = store.page(Window(2))
    assert [d.job_id for d in first.items] == [4, 5]
    assert [d.job_id for d in store.page(Window(2, first.next_before)).items] == [2, 3]
    assert [d.job_id for d in store.page(Window(), "pending").items] == [1, 3, 5]
    assert store.page(Window(3), "pending").next_before is None


def test_a_page_stops_at_its_byte_budget(store: DeliveryStore) -> None:
    for job_id in range(1, 5):
        delivery = store.add(Delivery.new(job_id, HOOK, created_at=0.0, next_at=0.0, state="pending"))
        (claimed,) = store.claim_due(1.0, owner="one", lease_s=LEASE)
        store.release(claimed.id, "one", Turn("gave_up", 1.0, payload={"meta": "m" * 50_000}))
        assert claimed.id == delivery.id
    page = store.page(Window(max_bytes=120_000))
    assert [d.job_id for d in page.items] == [3, 4]
    assert page.next_before is not None


def test_purge_keeps_pending_deliveries(store: DeliveryStore) -> None:
    store.add(Delivery.new(1, HOOK, created_at=0.0, next_at=0.0, state="refused"))
    store.add(Delivery.new(2, HOOK, created_at=0.0, next_at=0.0, state="pending"))
    store.add(Delivery.new(3, HOOK, created_at=100.0, next_at=0.0, state="delivered"))
    assert store.purge(before=50.0) == 1
    assert [d.job_id for d in store.page(Window()).items] == [2, 3]
    assert [d.job_id for d in store.page(Window(), "pending").items] == [2]


def test_clear_forgets_every_delivery(store: DeliveryStore) -> None:
    pending(store, 1)
    store.clear()
    assert store.page(Window()).items == []
    assert store.claim_due(10.0, owner="one", lease_s=LEASE) == []


def test_a_session_is_cleared_alone_and_keeps_its_session(store: DeliveryStore, other: DeliveryStore) -> None:
    for job_id, session in ((1, ""), (2, "t1"), (3, "t2"), (4, "t1")):
        store.add(Delivery.new(job_id, HOOK, created_at=0.0, next_at=0.0, state="pending", session=session))
    listed = other.page(Window()).items
    assert [(d.job_id, d.session) for d in listed] == [(1, ""), (2, "t1"), (3, "t2"), (4, "t1")]
    other.clear("t1")
    assert [d.job_id for d in store.page(Window()).items] == [1, 3]
    assert [d.job_id for d in store.claim_due(10.0, owner="one", lease_s=LEASE)] == [1, 3]
    store.clear("")
    assert [d.job_id for d in store.page(Window()).items] == [3]


def test_a_store_that_cannot_write_raises_store_error(
    store: DeliveryStore, break_writes: Callable[[], None]
) -> None:
    pending(store, 1)
    break_writes()
    with pytest.raises(StoreError):
        store.claim_due(1.0, owner="one", lease_s=LEASE)
    with pytest.raises(StoreError):
        pending(store, 2)
