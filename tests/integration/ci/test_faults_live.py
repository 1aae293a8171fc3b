"""Faults on purpose against a live mock: dropped connections, slow bodies, latency, 5xx, queue limit."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import httpx
import pytest

from mock_server.settings import Settings
from mock_server.tooling.testing import running_server
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

IMG_MIXER = CREATE_PATHS["img_mixer"]
BASE = Settings(store=":memory:", access_log=False, slow_body_s=0.3)


def post(base_url: str, prefer: str | None = None, **changes: Any) -> httpx.Response:
    headers = {"Prefer": prefer} if prefer else {}
    body = valid_body("img_mixer", **changes)
    return httpx.post(base_url + IMG_MIXER, json=body, headers=headers, timeout=30)


def test_prefer_faults_per_request() -> None:
    with running_server(BASE) as base_url:
        with pytest.raises(httpx.RemoteProtocolError):
            post(base_url, "fault=drop")
        started = time.perf_counter()
        slow = post(base_url, "fault=slow-body")
        slow_s = time.perf_counter() - started
        started = time.perf_counter()
        late = post(base_url, "latency=300ms")
        late_s = time.perf_counter() - started
        errors = [post(base_url, f"fault={code}") for code in (500, 503)]
        journal = httpx.get(base_url + "/_mixmock/requests").json()["requests"]
    assert slow.json()["status"] == "success"
    assert slow_s >= 0.25
    assert late.json()["status"] == "success"
    assert late_s >= 0.3
    assert [(r.status_code, r.json()["message"]) for r in errors] == [
        (500, "Internal server error. Please try again."),
        (503, "Service temporarily unavailable. Please try again later."),
    ]
    assert [entry["fault"] for entry in journal] == ["drop", "slow-body", None, "500", "503"]
    assert journal[3]["why"] == "fault: 500 (prefer)"


def test_configured_faults_are_seeded_and_a_request_can_opt_out() -> None:
    settings = replace(BASE, faults={"503": 0.5}, fault_seed=3)
    runs = []
    for _ in range(2):
        with running_server(settings) as base_url:
            runs.append([post(base_url).status_code for _ in range(12)])
            spared = post(base_url, "fault=none").status_code
        assert spared == 200
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}


def test_queue_limit_gives_the_vendors_rate_limit_reply_per_key() -> None:
    settings = replace(BASE, queue_limit=2, ratios={"processing": 1.0}, default_eta=600)
    with running_server(settings) as base_url:
        replies = [post(base_url).json() for _ in range(3)]
        other_key = post(base_url, key="another-key").json()
    assert [reply["status"] for reply in replies] == ["processing", "processing", "error"]
    assert replies[2]["message"] == "Rate limit exceeded. Maximum 5 queued requests allowed."
    assert other_key["status"] == "processing"


def test_failed_job_rate_ends_queued_jobs_failed() -> None:
    settings = replace(BASE, failed_job_rate=1.0, ratios={"processing": 1.0}, default_eta=0)
    with running_server(settings) as base_url:
        queued = post(base_url).json()
        fetched = httpx.post(queued["fetch_result"], json={"key": "k"}).json()
    assert fetched["status"] == "failed"
    assert fetched["message"] == "Failed, Try Again"
