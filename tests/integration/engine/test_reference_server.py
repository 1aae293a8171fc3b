"""`mixmock serve --engine diffusers` as a process (tiny random models, CPU): the engine jobs it had
accepted when it was SIGKILLed are finished by the next server, and a request's images cannot take
the server's memory (4 x 4096 x 4096 RGBA is 350 KB on the wire)."""

from __future__ import annotations

import asyncio
import base64
import io
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mock_server.tooling.testing import free_port
from tests.integration.servers import kill, receiver, serve
from tests.unit.mock_server.bodies import CREATE_PATHS

pytest.importorskip("torch", reason="the reference engine needs torch (pip install '.[reference]')")
pytest.importorskip("diffusers", reason="the reference engine needs diffusers (the reference extra)")

pytestmark = [pytest.mark.reference, pytest.mark.integration, pytest.mark.timeout(900)]

IMG = CREATE_PATHS["img_mixer"]
START_S = 240.0  # loading the models and timing two UNet calls, on a busy machine


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("tiny-models")
    subprocess.run([sys.executable, "-m", "mock_server", "models", "init-tiny", str(folder)], check=True)
    return str(folder)


def data_uri(side: int, mode: str = "RGB") -> str:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((side, side)).convert(mode).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def engine_args(models: str, *more: str) -> tuple[str, ...]:
    return ("--engine", "diffusers", "--model-dir", models, "--device", "cpu", "--max-batch", "1", *more)


def rss_peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def test_jobs_queued_when_the_server_is_killed_are_finished_by_the_next_one(
    models: str, tmp_path: Path
) -> None:
    store = str(tmp_path / "jobs.sqlite3")
    port = free_port()
    args = engine_args(models, "--store", store, "--engine-lease", "2")
    with receiver() as (hook, hooks):
        with serve(*args, port=port, start_timeout_s=START_S) as (base_url, process):
            queued = [
                httpx.post(
                    base_url + IMG,
                    json={
                        "key": "k",
                        "prompt": "rose man",
                        "init_image": [data_uri(48)],
                        "width": 256,
                        "height": 256,
                        "steps": 30,
                        "webhook": hook,
                        "track_id": index,
                    },
                    headers={"Prefer": "scenario=processing"},
                    timeout=60,
                ).json()
                for index in range(6)
            ]
            kill(process)
        assert {reply["status"] for reply in queued} == {"processing"}
        with serve(*args, port=port, start_timeout_s=START_S) as (base_url, _):
            fetched: dict[int, Any] = {}
            deadline = time.monotonic() + 240
            while len(fetched) < len(queued) and time.monotonic() < deadline:
                for reply in queued:
                    answer = httpx.post(reply["fetch_result"], json={"key": "k"}, timeout=30).json()
                    if answer["status"] != "processing":
                        fetched[reply["id"]] = answer
                time.sleep(0.5)
            hooks.received(len(queued), timeout=60)
            log = httpx.get(base_url + "/_mixmock/webhooks").json()["deliveries"]
    assert [fetched.get(reply["id"], {}).get("status") for reply in queued] == ["success"] * len(queued)
    assert [fetched[reply["id"]]["output"] for reply in queued] == [reply["future_links"] for reply in queued]
    assert set(Counter(body["track_id"] for body in hooks.bodies)) == set(range(len(queued)))
    assert {delivery["state"] for delivery in log} == {"delivered"}


def test_a_request_of_four_huge_images_is_refused_before_decoding_and_memory_stays_flat(
    models: str,
) -> None:
    """Six at once took the server from 0.5 GB to 4.7 GB and stalled /health for seconds."""
    body = {
        "key": "k",
        "prompt": "rose",
        "init_image": [data_uri(4096, "RGBA")] * 4,
        "width": 64,
        "height": 64,
    }

    async def six_at_once(base_url: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=120) as client:
            replies = await asyncio.gather(*(client.post(base_url + IMG, json=body) for _ in range(6)))
            health = await client.get(base_url + "/health")
        assert health.status_code == 200
        return [reply.json() for reply in replies]

    with serve(*engine_args(models, "--store", ":memory:"), start_timeout_s=START_S) as (base_url, process):
        before = rss_peak_mib(process.pid)
        replies = asyncio.run(six_at_once(base_url))
        grown = rss_peak_mib(process.pid) - before
    for reply in replies:
        assert reply["status"] == "error"
        assert reply["message"].startswith("Unable to fetch image from provided URL")
        assert "pixels together" in reply["message"]
    assert grown < 512, f"the peak RSS grew by {grown:.0f} MiB"
