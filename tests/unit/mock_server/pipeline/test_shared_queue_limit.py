"""The queue limit counts a key's pending jobs across every replica sharing a Redis store."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from mock_server.app import create_app
from mock_server.settings import Settings
from mock_server.tooling.redis_server import RedisServer
from mock_server.tooling.testing import in_process
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.redis, pytest.mark.timeout(60)]


def test_pending_jobs_of_a_key_count_on_every_replica(redis_service: RedisServer, redis_prefix: str) -> None:
    settings = Settings(
        store=redis_service.url, store_prefix=redis_prefix, queue_limit=2, strict=True, access_log=False
    )
    queued = {"Prefer": "scenario=processing, eta=600"}
    with ExitStack() as stack:
        first, second = (stack.enter_context(in_process(create_app(settings))) for _ in range(2))
        path, body = CREATE_PATHS["img_mixer"], valid_body("img_mixer", key="busy-key")
        assert first.post(path, json=body, headers=queued).json()["status"] == "processing"
        assert second.post(path, json=body, headers=queued).json()["status"] == "processing"
        limited = first.post(path, json=body, headers=queued)
        other_key = second.post(path, json=valid_body("img_mixer", key="idle-key"), headers=queued)
    assert limited.headers["X-Mixmock-Example"] == "error_rate_limit"
    assert limited.json()["status"] == "error"
    assert other_key.json()["status"] == "processing"
