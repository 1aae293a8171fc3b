"""Webhooks from a live mock: the spec's payload, track_id types, refused hosts, retries, the log."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from mock_server.settings import Settings
from mock_server.tooling.testing import running_server
from openapi import load_spec
from tests.integration.servers import receiver, serve
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

BASE = Settings(store=":memory:", access_log=False)
SPECS = {"img_mixer": "v6", "magic_mix_enterprise": "v1-enterprise", "magic_mix_v5": "v5"}
# the type each spec's request accepts (img_mixer's page says integer, magic_mix's pages say string)
TRACK_IDS = {"img_mixer": 7, "magic_mix_enterprise": "order-7", "magic_mix_v5": "order-7"}


def webhook_errors(spec: str, payload: Any) -> list[str]:
    document = load_spec(spec)
    (hook,) = document["webhooks"].values()
    schema = hook["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for({"components": document["components"], **schema})
    return [error.message for error in validator.iter_errors(payload)]


@pytest.mark.parametrize("operation", list(SPECS))
@pytest.mark.parametrize("with_track_id", [True, False], ids=["track-id", "null-track-id"])
def test_a_finished_job_posts_the_specs_payload(operation: str, with_track_id: bool) -> None:
    track_id = TRACK_IDS[operation] if with_track_id else None
    with receiver() as (hook, hooks), running_server(BASE) as base_url:
        made = httpx.post(
            base_url + CREATE_PATHS[operation],
            json=valid_body(operation, webhook=hook, track_id=track_id),
            headers={"Prefer": "scenario=processing, eta=0"},
        ).json()
        (payload,) = hooks.received(1)
    assert payload["status"] == "success"
    assert payload["id"] == made["id"]
    assert payload["output"] == made["future_links"]
    assert payload["track_id"] == track_id
    assert type(payload["track_id"]) is type(track_id)
    assert webhook_errors(SPECS[operation], payload) == []


def test_a_failed_job_posts_the_failed_payload() -> None:
    settings = replace(BASE, failed_job_rate=1.0)
    with receiver() as (hook, hooks), running_server(settings) as base_url:
        httpx.post(
            base_url + CREATE_PATHS["img_mixer"],
            json=valid_body("img_mixer", webhook=hook, track_id=None),
            headers={"Prefer": "scenario=processing, eta=0"},
        )
        (payload,) = hooks.received(1)
    assert payload["status"] == "failed"
    assert payload["track_id"] is None
    assert webhook_errors("v6", payload) == []


def test_a_receiver_that_fails_is_retried_and_every_attempt_logged() -> None:
    with receiver() as (hook, hooks), running_server(BASE) as base_url:
        hooks.status = 500
        httpx.post(base_url + CREATE_PATHS["img_mixer"], json=valid_body("img_mixer", webhook=hook))
        hooks.received(1)
        hooks.status = 200
        hooks.received(2, timeout=10)  # retried after the first backoff (1 s)
        (delivery,) = httpx.get(base_url + "/_mixmock/webhooks").json()["deliveries"]
    assert delivery["state"] == "delivered"
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 200]
    assert delivery["url"] == hook


def test_a_webhook_to_a_host_not_allowed_is_refused_and_never_sent() -> None:
    with receiver() as (hook, hooks), running_server(BASE) as base_url:
        elsewhere = hook.replace("127.0.0.1", "198.51.100.7")
        httpx.post(base_url + CREATE_PATHS["img_mixer"], json=valid_body("img_mixer", webhook=elsewhere))
        (delivery,) = httpx.get(base_url + "/_mixmock/webhooks").json()["deliveries"]
    assert delivery["state"] == "refused"
    assert "host '198.51.100.7' is not an allowed webhook host" in delivery["attempts"][0]["error"]
    assert hooks.bodies == []


def test_two_workers_send_each_webhook_once_and_log_every_post(tmp_path: Path) -> None:
    """A slow receiver (1 s) and clients polling through both workers: jobs finish in one worker while
    the other is POSTing. Each job is delivered once, and the log holds every POST the receiver saw."""
    store = str(tmp_path / "jobs.sqlite3")
    args = ("--workers", "2", "--store", store, "--processing-ratio", "1", "--eta", "1")
    with receiver() as (hook, hooks), serve(*args) as (base_url, _):
        hooks.delay_s = 1.0
        bodies = [valid_body("img_mixer", webhook=hook, track_id=index) for index in range(20)]
        made = [httpx.post(base_url + CREATE_PATHS["img_mixer"], json=body).json() for body in bodies]
        deadline = time.monotonic() + 60
        while len({body["id"] for body in hooks.bodies}) < 20 and time.monotonic() < deadline:
            for reply in made:  # every poll settles the job in whichever worker takes the connection
                httpx.post(reply["fetch_result"], json={"key": "k"})
        time.sleep(3)  # a duplicate would be on its way by now
        log = httpx.get(base_url + "/_mixmock/webhooks?limit=100").json()["deliveries"]
    received = Counter(body["id"] for body in hooks.bodies)
    assert sorted(received) == sorted(reply["id"] for reply in made)
    assert set(received.values()) == {1}, f"duplicates: {[i for i, n in received.items() if n > 1]}"
    attempts = [attempt for delivery in log for attempt in delivery["attempts"]]
    answered = [attempt for attempt in attempts if attempt["status"] is not None]
    assert len(answered) == len(hooks.bodies)  # every POST the receiver saw (and answered) is logged
    # Any other attempt never reached the receiver (a refused or reset connection on a loaded machine):
    # it is logged with why, and its delivery was retried.
    assert all(attempt["error"] for attempt in attempts if attempt["status"] is None)
    assert {delivery["state"] for delivery in log} == {"delivered"}


def test_a_receiver_that_redirects_is_never_followed_and_every_post_is_logged() -> None:
    settings = replace(BASE, webhook_retry_s=2.5)
    with receiver() as (hook, hooks), running_server(settings) as base_url:
        hooks.status, hooks.headers = 302, {"Location": "data:,x"}
        httpx.post(base_url + CREATE_PATHS["img_mixer"], json=valid_body("img_mixer", webhook=hook))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (delivery,) = httpx.get(base_url + "/_mixmock/webhooks").json()["deliveries"]
            if delivery["state"] != "pending":
                break
            time.sleep(0.2)
    assert delivery["state"] == "gave_up"  # after 1 s and 2 s of backoff, past the 2.5 s window
    assert len(delivery["attempts"]) == len(hooks.bodies) == 2
    assert delivery["attempts"][0]["status"] == 302
    assert delivery["attempts"][0]["error"] == "redirect to 'data:,x' not followed"
