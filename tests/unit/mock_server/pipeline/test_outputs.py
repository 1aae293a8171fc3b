"""Output files: served once their job has succeeded; a download never changes how a job ends."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from mock_server.app import create_app
from mock_server.settings import Settings
from mock_server.state.clock import ManualClock
from mock_server.tooling.testing import free_port
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body
from tests.unit.mock_server.engines.fakes import CountingEngine

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]
IMG = CREATE_PATHS["img_mixer"]


def test_downloading_before_fetching_keeps_a_planned_failure(
    mock_client: ClientFactory, clock: ManualClock
) -> None:
    webhook = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens: the attempt is logged with its body
    with mock_client(failed_job_rate=1.0) as client:
        queued = client.post(
            IMG,
            json=valid_body("img_mixer", webhook=webhook),
            headers={"Prefer": "scenario=processing, eta=2"},
        ).json()
        clock.advance(3)
        download = client.get(queued["future_links"][0])
        fetched = client.post(queued["fetch_result"], json={"key": "k"}).json()
        deadline = time.monotonic() + 10
        while not (deliveries := client.get("/_mixmock/webhooks").json()["deliveries"])[0]["attempts"]:
            assert time.monotonic() < deadline, "the webhook was never attempted"
            time.sleep(0.05)
    assert download.status_code == 404
    assert "is failed" in download.json()["detail"]
    assert fetched["status"] == "failed"
    assert fetched["message"] == "Failed, Try Again"
    assert deliveries[0]["payload"]["status"] == "failed"


def test_a_due_job_that_succeeds_serves_its_file_before_any_fetch(
    mock_client: ClientFactory, clock: ManualClock
) -> None:
    with mock_client() as client:
        queued = client.post(
            IMG, json=valid_body("img_mixer"), headers={"Prefer": "scenario=processing, eta=2"}
        )
        early = client.get(queued.json()["future_links"][0])
        clock.advance(3)
        late = client.get(queued.json()["future_links"][0])
    assert early.status_code == 404
    assert late.status_code == 200
    assert late.headers["content-type"] == "image/png"


def test_concurrent_first_downloads_share_one_render() -> None:
    """30 clients download an image nobody has rendered yet: one render, 30 identical files."""
    engine = CountingEngine()
    app = create_app(Settings(store=":memory:", access_log=False), engine=engine)

    async def downloads() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock.test") as client:
            made = (await client.post(IMG, json=valid_body("img_mixer"))).json()
            return await asyncio.gather(*(client.get(made["output"][0]) for _ in range(30)))

    replies = asyncio.run(downloads())
    assert {reply.status_code for reply in replies} == {200}
    assert len({reply.content for reply in replies}) == 1
    assert engine.renders == 1
