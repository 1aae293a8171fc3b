"""What only the Redis store does: expiry by TTL, key prefixes, outages in the store's terms."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from mock_server.services.defaults import Defaults
from mock_server.services.rules import RuleSet
from mock_server.settings import Settings
from mock_server.state.backends import open_backend
from mock_server.state.jobs import StoreError
from mock_server.state.redis.connection import Keys, connect
from mock_server.state.redis.job_store import RedisJobStore
from mock_server.state.redis.urls import redis_url_problem, shown
from mock_server.tooling.redis_server import RedisServer
from mock_server.tooling.testing import free_port
from tests.unit.mock_server.state.jobs_fixtures import make_job

pytestmark = [pytest.mark.unit, pytest.mark.redis, pytest.mark.timeout(60)]


def store_for(server: RedisServer, prefix: str, ttl_s: float = 86400.0) -> RedisJobStore:
    return RedisJobStore(connect(server.url), Keys(prefix), ttl_s=ttl_s, store_url=server.url)


def test_jobs_and_their_images_expire_with_the_vendors_retention(
    redis_service: RedisServer, redis_prefix: str
) -> None:
    store = store_for(redis_service, redis_prefix, ttl_s=3600.0)
    job = store.create(make_job)
    store.put_images(job.file_prefix, [b"png"])
    client = redis.Redis.from_url(redis_service.url)
    ttls = [client.pttl(f"{redis_prefix}:{name}") for name in (f"job:{job.id}", f"file:{job.file_prefix}")]
    ttls.append(client.pttl(f"{redis_prefix}:images:{job.file_prefix}"))
    assert all(3_590_000 < ttl <= 3_600_000 for ttl in ttls), ttls
    store.save(job.finished("success"))  # a later write keeps the original expiry
    assert client.pttl(f"{redis_prefix}:job:{job.id}") <= 3_600_000
    client.close()
    store.close()


def test_key_prefixes_keep_two_mocks_apart_on_one_redis(
    redis_service: RedisServer, redis_prefix: str
) -> None:
    first, second = (
        store_for(redis_service, redis_prefix + "-a"),
        store_for(redis_service, redis_prefix + "-b"),
    )
    made = first.create(make_job)
    assert second.get(made.id) is None
    assert second.create(make_job).id == made.id  # each prefix has its own id counter
    first.close()
    second.close()


def test_a_file_prefix_clash_refuses_the_whole_group(redis_service: RedisServer, redis_prefix: str) -> None:
    store = store_for(redis_service, redis_prefix)
    store.create(lambda job_id: make_job(job_id, file_prefix="taken"))

    async def clash() -> None:
        try:
            await asyncio.gather(
                store.create_grouped(lambda job_id: make_job(job_id, file_prefix="fresh")),
                store.create_grouped(lambda job_id: make_job(job_id, file_prefix="taken")),
            )
        finally:
            await store.aclose()

    with pytest.raises(redis.ResponseError, match="file_prefix taken belongs to job 1"):
        asyncio.run(clash())
    assert store.by_prefix("fresh") is None  # checked before anything was written
    store.close()


def test_an_unreachable_redis_is_a_store_error_naming_it_without_its_password_and_unhealthy() -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    store = RedisJobStore(connect(url), Keys("x"), ttl_s=60.0, store_url=url)
    with pytest.raises(StoreError, match="Connection") as raised:
        store.get(1)
    assert "s3cret" not in str(raised.value)
    assert shown(url) in str(raised.value)
    with pytest.raises(StoreError):
        store.secret()
    why = store.health()
    assert why is not None
    assert "Connection" in why
    store.close()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://localhost:6379/0", None),
        ("rediss://user:pw@cache.example:6380", None),
        ("redis://:6379/0", "names no host"),
        ("redis://localhost:6379/jobs", "a Redis database is a number"),
        ("redis://localhost:99999/0", "not a valid Redis URL"),
    ],
    ids=["plain", "tls-with-user", "no-host", "named-database", "bad-port"],
)
def test_store_urls_are_checked_before_connecting(url: str, problem: str | None) -> None:
    found = redis_url_problem(url)
    assert found is None if problem is None else problem in (found or "")


def test_a_sessions_defaults_and_rules_expire_in_every_process_that_read_them(
    redis_service: RedisServer, redis_prefix: str
) -> None:
    """A session's defaults and rules expire `job_ttl_s` after their last change, also for a process that
    read them before (no change message comes with an expiry)."""
    settings = Settings(store=redis_service.url, store_prefix=redis_prefix, job_ttl_s=1.0, access_log=False)
    writer, reader = open_backend(settings), open_backend(settings)
    rule = {"id": "r1", "when": {"prompt": {"contains": "boom"}}, "then": {"scenario": "failed"}}
    try:
        writer.defaults.set(Defaults.of("scenario=failed", None), "t1")
        writer.rules.update(lambda current: RuleSet((rule,), 2), "t1")
        assert reader.defaults.get("t1").prefer == "scenario=failed"  # read, and kept by the reader
        assert len(reader.rules.load("t1").rules) == 1
        client = redis.Redis.from_url(redis_service.url)
        keys = Keys(redis_prefix)
        stored = [keys("defaults") + ":session:t1", keys("rules") + ":session:t1"]
        deadline = time.monotonic() + 30.0
        while client.exists(*stored) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.exists(*stored) == 0
        client.close()
        assert reader.defaults.get("t1").empty
        assert reader.rules.load("t1").rules == ()
        assert writer.defaults.get("t1").empty
    finally:
        writer.close()
        reader.close()
