"""The registry of engine workers on Redis: what the eta of a `--engine remote` replica counts on (work
waiting and rendering under the job store's leases, live workers, the measured seconds per job)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.state.redis.connection import Keys, connect
from mock_server.state.redis.engine_workers import QueueState, RedisEngineWorkers
from mock_server.state.redis.job_store import RedisJobStore
from mock_server.tooling.redis_server import RedisServer
from tests.unit.mock_server.state.jobs_fixtures import make_job

pytestmark = [pytest.mark.unit, pytest.mark.redis, pytest.mark.timeout(60)]


@pytest.fixture
def store(redis_service: RedisServer, redis_prefix: str) -> Iterator[RedisJobStore]:
    opened = RedisJobStore(
        connect(redis_service.url), Keys(redis_prefix), ttl_s=3600.0, store_url=redis_service.url
    )
    yield opened
    opened.close()


@pytest.fixture
def workers(redis_service: RedisServer, redis_prefix: str) -> Iterator[RedisEngineWorkers]:
    opened = RedisEngineWorkers(connect(redis_service.url), Keys(redis_prefix), lease_s=10.0)
    yield opened
    opened.close()


def test_state_counts_waiting_and_rendering_work_and_live_workers(
    store: RedisJobStore, workers: RedisEngineWorkers
) -> None:
    ids = [store.create(lambda job_id: make_job(job_id, eager=True, polls_needed=None)).id for _ in range(4)]
    assert store.claim_engine_job(ids[0], "a", 0.0, 10.0)  # rendering until 10
    assert store.claim_engine_job(ids[1], "dead", -20.0, 10.0)  # its lease ran out at -10: waiting again
    store.save(make_job(ids[3], eager=True, polls_needed=None, state="success"))  # done: no work
    workers.heartbeat("a", now=0.0)
    workers.heartbeat("b", now=-50.0)  # silent for longer than a lease: not counted
    workers.record_job_seconds(2.0)
    workers.record_job_seconds(4.0)
    state = workers.state(now=1.0)
    assert (state.waiting, state.rendering, state.workers) == (2, 1, 1)
    assert state.job_s == pytest.approx(2.6)  # 0.7 * 2 + 0.3 * 4


def test_a_worker_that_leaves_no_longer_counts(workers: RedisEngineWorkers) -> None:
    workers.heartbeat("a", now=0.0)
    workers.heartbeat("b", now=0.0)
    workers.leave("a")
    assert workers.state(now=1.0).workers == 1


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
