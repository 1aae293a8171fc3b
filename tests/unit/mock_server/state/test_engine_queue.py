"""The engine queue on Redis: claims under a lease, renewal, jobs taken up again, the eta's inputs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.state.redis.connection import Keys, connect
from mock_server.state.redis.engine_queue import QueueState, RedisEngineQueue
from mock_server.tooling.redis_server import RedisServer

pytestmark = [pytest.mark.unit, pytest.mark.redis, pytest.mark.timeout(60)]


@pytest.fixture
def queue(redis_service: RedisServer, redis_prefix: str) -> Iterator[RedisEngineQueue]:
    opened = RedisEngineQueue(connect(redis_service.url), Keys(redis_prefix), lease_s=10.0)
    yield opened
    opened.close()


def test_jobs_are_claimed_oldest_first_by_one_worker(queue: RedisEngineQueue) -> None:
    for job_id in (1, 2, 3):
        queue.enqueue(job_id)
    assert queue.claim("a", 2, now=0.0) == [1, 2]
    assert queue.claim("b", 2, now=0.0) == [3]
    assert queue.claim("b", 2, now=0.0) == []


def test_a_job_whose_lease_runs_out_is_taken_up_again_first(queue: RedisEngineQueue) -> None:
    for job_id in (1, 2):
        queue.enqueue(job_id)
    assert queue.claim("dead", 1, now=0.0) == [1]
    assert queue.claim("alive", 5, now=5.0) == [2]  # the lease of job 1 runs until 10
    queue.enqueue(3)
    assert queue.claim("alive", 5, now=11.0) == [1, 3]  # job 1 back at the head of the queue


def test_renewing_keeps_a_lease_and_only_the_holder_can(queue: RedisEngineQueue) -> None:
    queue.enqueue(1)
    queue.claim("a", 1, now=0.0)
    assert queue.renew("a", [1], now=8.0) == 1  # now held until 18
    assert queue.renew("b", [1], now=8.0) == 0
    assert queue.claim("b", 1, now=15.0) == []
    assert queue.claim("b", 1, now=19.0) == [1]
    assert queue.renew("a", [1], now=19.5) == 0  # a lost it to b


def test_done_drops_the_lease_for_good(queue: RedisEngineQueue) -> None:
    queue.enqueue(1)
    queue.claim("a", 1, now=0.0)
    queue.done("a", [1])
    assert queue.claim("b", 1, now=100.0) == []


def test_given_back_jobs_are_next_for_another_worker(queue: RedisEngineQueue) -> None:
    for job_id in (1, 2, 3):
        queue.enqueue(job_id)
    queue.claim("stopping", 2, now=0.0)
    queue.give_back("stopping", [1, 2])
    assert queue.claim("other", 3, now=1.0) == [1, 2, 3]


def test_state_counts_waiting_and_rendering_jobs_and_live_workers(queue: RedisEngineQueue) -> None:
    for job_id in (1, 2, 3):
        queue.enqueue(job_id)
    queue.claim("a", 1, now=0.0)
    queue.heartbeat("a", now=0.0)
    queue.heartbeat("b", now=-50.0)  # silent for longer than a lease: not counted
    queue.record_job_seconds(2.0)
    queue.record_job_seconds(4.0)
    state = queue.state(now=1.0)
    assert (state.waiting, state.rendering, state.workers) == (2, 1, 1)
    assert state.job_s == pytest.approx(2.6)  # 0.7 * 2 + 0.3 * 4


@pytest.mark.parametrize(
    ("state", "eta"),
    [
        (QueueState(0, 0, 1, 2.0), 2.0),
        (QueueState(3, 1, 2, 2.0), 6.0),  # 4 ahead shared by 2 workers, then its own
        (QueueState(1, 0, 0, None), 10.0),  # nothing measured yet: the fallback; no worker: counted as one
    ],
    ids=["idle", "busy", "unmeasured"],
)
def test_eta(state: QueueState, eta: float) -> None:
    assert state.eta(fallback_job_s=5.0) == pytest.approx(eta)
