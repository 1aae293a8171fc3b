"""An engine worker and an API replica on one Redis: the replica's engine work claimed under a lease,
rendered, finished, and taken up again when the worker holding it dies."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from mock_server.app import create_app
from mock_server.engines.synthetic import SyntheticEngine
from mock_server.services.engine_worker import EngineWorker
from mock_server.settings import Settings
from mock_server.state.backends import open_backend
from mock_server.state.clock import SystemClock
from mock_server.state.health import StoreHealth
from mock_server.state.lifecycle import Lifecycle
from mock_server.tooling.redis_server import RedisServer
from mock_server.tooling.testing import InProcessClient, in_process
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.redis, pytest.mark.timeout(60)]


@pytest.fixture
def settings(redis_service: RedisServer, redis_prefix: str) -> Settings:
    return Settings(
        store=redis_service.url,
        store_prefix=redis_prefix,
        engine="remote",
        engine_lease_s=1.0,
        strict=True,
        access_log=False,
    )


@contextmanager
def api(settings: Settings) -> Iterator[InProcessClient]:
    with in_process(create_app(settings), base_url="http://mock.test") as client:
        yield client


@contextmanager
def worker(settings: Settings) -> Iterator[EngineWorker]:
    """An engine worker (synthetic engine) on its own event loop, stopped on exit."""
    backend = open_backend(settings)
    assert backend.workers is not None
    lifecycle = Lifecycle(
        backend.jobs, SystemClock(), SyntheticEngine(), lease_s=settings.engine_lease_s, grace_s=0
    )
    health = StoreHealth(backend.jobs, settings.store)
    running = EngineWorker(backend.workers, lifecycle, backend.deliveries, health, poll_s=0.02)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        try:
            await running.run(stop)
        finally:
            await backend.aclose()  # on the loop its asyncio client belongs to

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    try:
        yield running
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


def fetch_until_done(client: httpx.Client, url: str, timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply: dict[str, Any] = client.post(url, json={"key": "k"}).json()
        if reply["status"] != "processing":
            return reply
        time.sleep(0.05)
    raise AssertionError(f"{url} still processing after {timeout_s} s")


def test_a_replica_without_engine_stores_the_work_and_a_worker_finishes_it(settings: Settings) -> None:
    with api(settings) as client, worker(settings) as running:
        queued = client.post(CREATE_PATHS["img_mixer"], json=valid_body("img_mixer")).json()
        assert queued["status"] == "processing"
        assert queued["eta"] >= 1
        done = fetch_until_done(client, queued["fetch_result"])
        assert done["status"] == "success"
        assert done["output"] == queued["future_links"]
        image = client.get(done["output"][0].removeprefix("http://mock.test"))
        assert image.status_code == 200
        assert image.content.startswith(b"\x89PNG")
        assert running.rendered == 1


def test_a_job_whose_worker_died_is_taken_up_when_its_lease_runs_out(settings: Settings) -> None:
    with api(settings) as client:
        queued = client.post(CREATE_PATHS["magic_mix_v5"], json=valid_body("magic_mix_v5")).json()
        backend = open_backend(settings)
        assert backend.jobs.claim_engine_job(queued["id"], "a-worker-that-dies", time.time(), 1.0)
        with worker(settings) as running:
            time.sleep(0.3)
            assert running.rendered == 0  # the dead worker's lease still runs
            done = fetch_until_done(client, queued["fetch_result"])
        backend.close()
    assert done["status"] == "success"
    assert running.rendered == 1


def test_the_eta_counts_the_work_waiting_ahead(settings: Settings) -> None:
    with api(settings) as client:
        etas = [
            client.post(CREATE_PATHS["img_mixer"], json=valid_body("img_mixer")).json()["eta"]
            for _ in range(3)
        ]
    assert etas == sorted(etas)
    assert etas[2] > etas[0]  # no worker yet: each job waits behind the ones before it
