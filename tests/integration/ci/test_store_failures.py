"""A store that cannot be used: refused at start (exit 2, the path named, no crash loop of workers),
and when it fails later (a full disk) the vendor's 503 reply, with `/ready` telling it from `/health`."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mock_server.tooling.testing import free_port
from tests.integration.servers import output_of, serve
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

VENDOR_503 = {"status": "error", "message": "Service temporarily unavailable. Please try again later."}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unusable_store_stops_the_server_at_once_naming_the_path(tmp_path: Path, workers: str) -> None:
    (tmp_path / "a-file").write_text("")
    store = str(tmp_path / "a-file" / "jobs.sqlite3")
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(free_port())]
    finished = subprocess.run(
        [*command, "--workers", workers, "--store", store], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2
    assert store in finished.stderr
    assert "Traceback" not in finished.stderr


def _small_disk() -> None:
    """In the server process: no file may grow past 3 MB, as on a disk that is full."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (3_000_000, 3_000_000))


def test_a_full_disk_gets_the_vendors_503_and_ready_reports_it(tmp_path: Path) -> None:
    store = str(tmp_path / "jobs.sqlite3")
    body = valid_body("img_mixer", prompt="rose " * 2_000)  # 10 KB a job
    with serve("--store", store, before_start=_small_disk) as (base_url, process):
        assert httpx.get(base_url + "/ready").json() == {"ready": True, "store": store}
        statuses: list[int] = []
        for _ in range(600):
            reply = httpx.post(base_url + CREATE_PATHS["img_mixer"], json=body, timeout=30)
            statuses.append(reply.status_code)
            if reply.status_code == 503:
                assert reply.json() == VENDOR_503
                break
        health = httpx.get(base_url + "/health")
        ready = httpx.get(base_url + "/ready")
        output = output_of(process)
    assert statuses[-1] == 503, "the store never filled up"
    assert set(statuses[:-1]) == {200}
    assert 500 not in statuses
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    assert ready.json()["reason"]
    assert output.count("Traceback") <= 1  # a failing store is said once, not once per request
