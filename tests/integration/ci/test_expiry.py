"""Jobs expire like the vendor's (24 hours by default) and the store is purged: an injected clock."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from mock_server.app import create_app
from mock_server.runtime import Runtime, purge_expired
from mock_server.settings import Settings
from mock_server.state.clock import ManualClock
from mock_server.tooling.testing import in_process
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

DAY = 86400.0


def fetch(client: httpx.Client, job_id: int) -> dict[str, object]:
    path = FETCH_PATHS["img_mixer"].format(id=job_id)
    reply: dict[str, object] = client.post(path, json={"key": "k"}).json()
    return reply


@pytest.mark.parametrize("ttl", [DAY, 60.0], ids=["vendor-24h", "configured-60s"])
def test_a_job_expires_then_fetch_says_request_not_found(ttl: float) -> None:
    clock = ManualClock()
    settings = replace(Settings(store=":memory:", strict=True), job_ttl_s=ttl)
    with in_process(create_app(settings, clock=clock)) as client:
        made = client.post(CREATE_PATHS["img_mixer"], json=valid_body("img_mixer")).json()
        clock.advance(ttl - 1)
        before = fetch(client, made["id"])
        clock.advance(1)
        after = fetch(client, made["id"])
    assert before["status"] == "success"
    assert after["status"] == "failed"
    assert after["message"] == "Request not found"


def test_the_purge_keeps_the_store_bounded() -> None:
    clock = ManualClock()
    app = create_app(Settings(store=":memory:"), clock=clock)
    runtime: Runtime = app.state.runtime
    with in_process(app) as client:
        for _ in range(48):
            for _job in range(5):
                client.post(CREATE_PATHS["img_mixer"], json=valid_body("img_mixer"))
            purge_expired(runtime)
            clock.advance(3600)
            assert runtime.store.count() <= 5 * 25  # never more than a day's worth (plus the hour)
        clock.advance(DAY)
        assert purge_expired(runtime) > 0
        assert runtime.store.count() == 0
