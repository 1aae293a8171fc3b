"""The app around the pipeline: problems for every path and method, who may use the admin API, and
engine work resumed when a server starts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.settings import Settings
from mock_server.state.clock import ManualClock
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS, valid_body
from tests.unit.mock_server.engines.fakes import EagerEngine

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

BASE = Settings(store=":memory:", access_log=False)
PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("TRACE", CREATE_PATHS["img_mixer"], 405, id="trace-vendor-path"),
        pytest.param("PROPFIND", CREATE_PATHS["img_mixer"], 405, id="propfind-vendor-path"),
        pytest.param("TRACE", "/api/v9/nowhere", 404, id="trace-unknown-path"),
        pytest.param("POST", "/health", 405, id="post-health"),
        pytest.param("PROPFIND", "/ready", 405, id="propfind-ready"),
        pytest.param("GET", "/_mixmock/nothing", 404, id="unknown-admin-path"),
        pytest.param("POST", "/_mixmock/jobs", 405, id="wrong-admin-method"),
        pytest.param("DELETE", "/generations/x.png", 405, id="delete-image"),
    ],
)
def test_every_path_and_method_answers_a_problem(method: str, path: str, status: int) -> None:
    with TestClient(create_app(BASE)) as client:
        reply = client.request(method, path)
    assert reply.status_code == status
    assert reply.headers["content-type"] == PROBLEM
    assert reply.json()["status"] == status
    if status == 405:
        assert reply.headers["allow"]


@pytest.mark.parametrize(
    ("host", "admin", "token", "sent", "status"),
    [
        pytest.param("127.0.0.1", "auto", None, None, 200, id="loopback-auto-open"),
        pytest.param("::1", "auto", None, None, 200, id="ipv6-loopback-auto-open"),
        pytest.param("localhost", "auto", None, None, 200, id="localhost-auto-open"),
        pytest.param("0.0.0.0", "auto", None, None, 403, id="beyond-loopback-auto-closed"),
        pytest.param("192.0.2.10", "auto", None, None, 403, id="an-interface-auto-closed"),
        pytest.param("0.0.0.0", "auto", "t0ken", None, 401, id="token-required"),
        pytest.param("0.0.0.0", "auto", "t0ken", "t0ken", 200, id="token-sent"),
        pytest.param("127.0.0.1", "auto", "t0ken", None, 401, id="token-required-on-loopback-too"),
        pytest.param("0.0.0.0", "open", None, None, 200, id="opened-on-purpose"),
        pytest.param("0.0.0.0", "open", "t0ken", None, 401, id="a-token-still-wins"),
        pytest.param("127.0.0.1", "off", None, None, 404, id="off"),
    ],
)
def test_who_may_use_the_admin_api(
    host: str, admin: str, token: str | None, sent: str | None, status: int
) -> None:
    settings = replace(BASE, host=host, admin=admin, admin_token=token)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {sent}"} if sent else {}
    with TestClient(create_app(settings)) as client:
        replies = [
            client.get("/_mixmock/jobs", headers=headers),
            client.put("/_mixmock/defaults", json={"prefer": "latency=300s"}, headers=headers),
            client.post("/_mixmock/reset", headers=headers),
        ]
        vendor = client.post(CREATE_PATHS["img_mixer"], json=valid_body("img_mixer"))
    assert [reply.status_code for reply in replies] == [status] * 3
    if status != 200:
        assert {reply.headers["content-type"] for reply in replies} == {PROBLEM}
    if status == 403:
        assert "MIXMOCK_ADMIN_TOKEN" in replies[0].json()["detail"]
        assert "MIXMOCK_ADMIN=open" in replies[0].json()["detail"]
    assert vendor.json()["status"] == "success"  # the vendor's routes never need the token


def test_the_startup_log_says_who_may_use_the_admin_api(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(create_app(replace(BASE, host="0.0.0.0"))):
        pass
    (line,) = [record for record in caplog.records if "admin API" in record.getMessage()]
    assert line.levelname == "WARNING"
    assert "closed: the server listens on 0.0.0.0" in line.getMessage()


def test_engine_work_left_by_a_dead_server_is_resumed_when_a_server_starts(tmp_path: Path) -> None:
    """A server accepts a job and dies while its engine renders it; the next one on the store finishes it."""
    clock = ManualClock()
    settings = replace(BASE, store=str(tmp_path / "jobs.sqlite3"), engine_lease_s=30)
    body = valid_body("img_mixer", width=16, height=8)

    async def accepted_then_killed() -> int:
        app = create_app(settings, engine=EagerEngine(), clock=clock)  # its engine never finishes
        transport = httpx.ASGITransport(app=app)  # no lifespan: nothing is released, as under SIGKILL
        async with httpx.AsyncClient(transport=transport, base_url="http://mock.test") as client:
            reply = await client.post(
                CREATE_PATHS["img_mixer"], json=body, headers={"Prefer": "scenario=processing"}
            )
        job_id: int = reply.json()["id"]
        return job_id

    job_id = asyncio.run(accepted_then_killed())
    clock.advance(30)  # the dead server's lease runs out
    engine = EagerEngine()
    engine.gate.set()
    with TestClient(create_app(settings, engine=engine, clock=clock), base_url="http://mock.test") as client:
        fetch = FETCH_PATHS["img_mixer"].format(id=job_id)
        for _ in range(200):
            fetched = client.post(fetch, json={"key": "k"}).json()
            if fetched["status"] != "processing":
                break
            asyncio.run(asyncio.sleep(0.01))
        image = client.get(fetched["output"][0])
    assert fetched["status"] == "success"
    assert image.status_code == 200
    assert len(engine.rendered) == 1
