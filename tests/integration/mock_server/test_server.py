"""The mock as a real server: a thread on a loopback port, and `mixmock serve` processes sharing a store."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from mock_server.settings import Settings
from mock_server.tooling.testing import running_server
from tests.integration.servers import serve
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS, valid_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_running_server_serves_replies_and_images() -> None:
    with running_server(Settings(store=":memory:", strict=True)) as base_url:
        reply = httpx.post(base_url + CREATE_PATHS["img_mixer"], json=valid_body("img_mixer")).json()
        image = httpx.get(reply["output"][0])
        assert httpx.get(base_url + "/health").json()["status"] == "ok"
    assert reply["output"][0].startswith(base_url + "/generations/")
    assert Image.open(io.BytesIO(image.content)).size == (80, 60)
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/health")


def test_public_url_overrides_the_origin() -> None:
    with running_server(Settings(store=":memory:", public_url="https://mock.example:8443")) as base_url:
        reply = httpx.post(base_url + CREATE_PATHS["magic_mix_v5"], json=valid_body("magic_mix_v5")).json()
    assert reply["output"][0].startswith("https://mock.example:8443/generations/")


def test_two_processes_share_jobs_through_one_store_file(tmp_path: Path) -> None:
    store = str(tmp_path / "jobs.sqlite3")
    with serve("--store", store) as (first, _), serve("--store", store) as (second, _):
        made = [
            httpx.post(base + CREATE_PATHS["img_mixer"], json=valid_body("img_mixer")).json()
            for base in (first, second)
        ]
        fetched = httpx.post(
            second + FETCH_PATHS["img_mixer"].format(id=made[0]["id"]), json={"key": "k"}
        ).json()
        image = httpx.get(made[0]["output"][0].replace(first, second))
    assert made[1]["id"] > made[0]["id"]  # each process takes its own block of ids from the file
    assert fetched == {"status": "success", "id": made[0]["id"], "output": made[0]["output"]}
    assert image.status_code == 200


def test_two_workers_share_jobs(tmp_path: Path) -> None:
    store = str(tmp_path / "jobs.sqlite3")
    with serve("--workers", "2", "--store", store, "--processing-ratio", "1") as (base, _):
        made = [
            httpx.post(base + CREATE_PATHS["magic_mix_v5"], json=valid_body("magic_mix_v5")).json()
            for _ in range(6)
        ]
        states = [
            httpx.post(
                reply["fetch_result"], json={"key": "k"}, headers={"Prefer": "scenario=success"}
            ).json()
            for reply in made
        ]
    ids = [reply["id"] for reply in made]
    assert len(set(ids)) == 6
    assert [state["status"] for state in states] == ["success"] * 6
    assert [state["output"] for state in states] == [reply["future_links"] for reply in made]


def test_serve_refuses_bad_settings_with_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--error-status", "rest", "--workers", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "'workers' = 0" in result.stderr
