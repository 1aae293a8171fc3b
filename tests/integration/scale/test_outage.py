"""A Redis that goes away: the vendor's 503 reply, /ready false, one clear log line, and back again."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from mock_server.tooling.redis_server import RedisServer
from tests.integration.scale.replicas import SCALE_TESTS, replicas, wait_for
from tests.integration.servers import output_of, stop
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS, valid_body

pytestmark = [*SCALE_TESTS, pytest.mark.timeout(180)]


def test_a_redis_outage_is_the_vendors_503_and_not_ready_until_it_is_back(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        with replicas(1, redis.url, "outage") as (replica,):
            assert httpx.get(replica.url + "/ready").json()["ready"] is True
            redis.kill()

            create = replica.post(CREATE_PATHS["img_mixer"], valid_body("img_mixer"))
            fetch = replica.post(FETCH_PATHS["img_mixer"].format(id=1), {"key": "k"})
            ready = httpx.get(replica.url + "/ready")
            admin = httpx.get(replica.url + "/_mixmock/jobs")
            time.sleep(3.0)  # background rounds (health, webhooks, journal) meet the outage many times

            assert (create.status_code, create.json()["status"]) == (503, "error")
            assert create.headers["X-Mixmock-Example"] == "server_error_503"
            assert (fetch.status_code, fetch.json()["status"]) == (503, "error")
            assert ready.status_code == 503
            assert ready.json()["ready"] is False
            assert "ConnectionError" in ready.json()["reason"]
            assert admin.status_code == 503
            assert admin.headers["content-type"] == "application/problem+json"

            redis.start()
            wait_for(lambda: httpx.get(replica.url + "/ready").json()["ready"], "/ready true again")
            assert (
                replica.post(CREATE_PATHS["img_mixer"], valid_body("img_mixer")).json()["status"] == "success"
            )
            stop(replica.process)
            log = output_of(replica.process)
    finally:
        redis.stop()
    assert "Traceback" not in log
    assert log.count("is unavailable") == 1, repr(log)  # one line for the whole outage
    assert log.count("answers again") == 1, log
