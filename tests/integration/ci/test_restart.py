"""Nothing lost: a mock killed with SIGKILL while jobs are queued still completes every accepted job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.tooling.testing import free_port
from tests.integration.servers import kill, receiver, serve
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

JOBS = 8


def poll_until_done(fetch_url: str) -> dict[str, Any]:
    for _ in range(100):
        fetched: dict[str, Any] = httpx.post(fetch_url, json={"key": "k"}).json()
        if fetched["status"] != "processing":
            return fetched
        time.sleep(0.1)
    raise AssertionError(f"{fetch_url} still processing after 10 s")


def body(hook: str, track_id: int) -> dict[str, Any]:
    return valid_body("img_mixer", webhook=hook, track_id=track_id)


def test_jobs_and_webhooks_survive_sigkill(tmp_path: Path) -> None:
    store = str(tmp_path / "jobs.sqlite3")
    port, hook_port = free_port(), free_port()
    hook = f"http://127.0.0.1:{hook_port}/hook"
    args = ("--store", store, "--processing-ratio", "1", "--eta", "1", "--webhook-retry", "60")
    with serve(*args, port=port) as (base_url, process):
        accepted = [
            httpx.post(base_url + CREATE_PATHS["img_mixer"], json=body(hook, index)).json()
            for index in range(JOBS)
        ]
        time.sleep(1.5)  # the jobs are due and their webhooks tried once: the receiver is not up yet
        failed_first = httpx.get(base_url + "/_mixmock/webhooks").json()["deliveries"]
        kill(process)
    assert {reply["status"] for reply in accepted} == {"processing"}
    assert any(delivery["attempts"] for delivery in failed_first)

    with receiver(hook_port) as (_, hooks), serve(*args, port=port) as (base_url, _):
        finished = {reply["id"]: poll_until_done(reply["fetch_result"]) for reply in accepted}
        bodies = hooks.received(JOBS, timeout=30)
        log = httpx.get(base_url + "/_mixmock/webhooks").json()["deliveries"]

    assert [finished[reply["id"]]["status"] for reply in accepted] == ["success"] * JOBS
    assert [finished[reply["id"]]["output"] for reply in accepted] == [r["future_links"] for r in accepted]
    assert sorted(body["track_id"] for body in bodies) == list(range(JOBS))
    assert {delivery["state"] for delivery in log} == {"delivered"}
    retried = [d for d in log if len(d["attempts"]) > 1]
    assert retried, "no delivery shows a failed attempt before the restart and a good one after"
    assert retried[0]["attempts"][0]["error"] is not None
    assert retried[0]["attempts"][-1]["status"] == 200
