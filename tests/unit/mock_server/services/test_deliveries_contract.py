"""The webhook deliveries contract on every store backend: one record per job, leased claims, the log."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mock_server.services.deliveries import Attempt
from tests.conftest import StateOpener

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

HOOK = "http://127.0.0.1/hook"


def test_a_job_has_one_delivery_however_often_it_is_added(open_state: StateOpener) -> None:
    deliveries = open_state().deliveries
    first = deliveries.add(7, HOOK, created_at=1.0, next_at=5.0, state="pending")
    again = deliveries.add(7, "http://127.0.0.1/other", created_at=2.0, next_at=9.0, state="pending")
    assert again == first
    assert (first.job_id, first.url, first.state, first.next_at) == (
        7,
        HOOK,
        "pending",
        5.0,
    )
    assert deliveries.for_job(7) == first
    assert deliveries.for_job(8) is None


def test_a_refused_delivery_keeps_its_attempt_and_is_never_due(open_state: StateOpener) -> None:
    deliveries = open_state().deliveries
    refused = Attempt(1.0, None, "refused: host 'example.com' is not allowed")
    added = deliveries.add(
        3, "http://example.com/h", created_at=1.0, next_at=1.0, state="refused", attempt=refused
    )
    assert added.attempts == (refused,)
    assert deliveries.claim_due(now=100.0, lease_s=10.0) == []


def test_a_claim_leases_each_due_delivery_to_one_claimer(open_state: StateOpener) -> None:
    first, second = open_state().deliveries, open_state().deliveries
    for job_id in (1, 2, 3):
        first.add(job_id, HOOK, created_at=0.0, next_at=float(job_id), state="pending")
    claimed = first.claim_due(now=2.5, lease_s=10.0)
    assert [delivery.job_id for delivery in claimed] == [1, 2]
    assert {delivery.next_at for delivery in claimed} == {12.5}
    assert [delivery.job_id for delivery in second.claim_due(now=3.0, lease_s=10.0)] == [3]
    assert second.claim_due(now=12.0, lease_s=10.0) == []  # leases still running
    retaken = second.claim_due(now=13.0, lease_s=10.0)  # the first claimer died: its leases ran out
    assert [delivery.job_id for delivery in retaken] == [1, 2, 3]


def test_updates_record_attempts_and_end_the_delivery(open_state: StateOpener) -> None:
    deliveries = open_state().deliveries
    added = deliveries.add(4, HOOK, created_at=0.0, next_at=0.0, state="pending")
    failed = replace(added, attempts=(Attempt(1.0, 503, None),), next_at=2.0, payload={"status": "success"})
    deliveries.update(failed)
    assert deliveries.for_job(4) == failed
    done = replace(failed, state="delivered", attempts=(*failed.attempts, Attempt(2.0, 200, None)))
    deliveries.update(done)
    assert deliveries.for_job(4) == done
    assert deliveries.claim_due(now=100.0, lease_s=1.0) == []


def test_hasten_makes_a_pending_delivery_due_now(open_state: StateOpener) -> None:
    deliveries = open_state().deliveries
    deliveries.add(5, HOOK, created_at=0.0, next_at=50.0, state="pending")
    assert deliveries.hasten(5, now=10.0)
    assert not deliveries.hasten(5, now=20.0)  # already due
    assert not deliveries.hasten(6, now=10.0)  # no delivery
    assert [delivery.job_id for delivery in deliveries.claim_due(now=10.0, lease_s=5.0)] == [5]


def test_the_log_lists_newest_last_by_state_and_limit(open_state: StateOpener) -> None:
    deliveries = open_state().deliveries
    for job_id in (1, 2, 3):
        deliveries.add(job_id, HOOK, created_at=float(job_id), next_at=0.0, state="pending")
    second = deliveries.for_job(2)
    assert second is not None
    deliveries.update(replace(second, state="gave_up"))
    assert [d.job_id for d in deliveries.all()] == [1, 2, 3]
    assert [d.job_id for d in deliveries.all(limit=2)] == [2, 3]
    assert [d.job_id for d in deliveries.all("pending")] == [1, 3]
    assert [d.job_id for d in deliveries.all("gave_up")] == [2]


def test_purge_forgets_old_finished_deliveries_and_keeps_pending_ones(open_state: StateOpener) -> None:
    deliveries = open_state().deliveries
    deliveries.add(1, HOOK, created_at=1.0, next_at=0.0, state="pending")
    deliveries.add(2, HOOK, created_at=1.0, next_at=0.0, state="refused")
    deliveries.add(3, HOOK, created_at=9.0, next_at=0.0, state="refused")
    assert deliveries.purge(before=5.0) == 1
    assert [d.job_id for d in deliveries.all()] == [1, 3]


def test_clear_forgets_every_delivery(open_state: StateOpener) -> None:
    deliveries = open_state().deliveries
    deliveries.add(1, HOOK, created_at=1.0, next_at=0.0, state="pending")
    deliveries.clear()
    assert deliveries.all() == []
    assert deliveries.claim_due(now=10.0, lease_s=1.0) == []
