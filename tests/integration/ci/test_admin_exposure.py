"""The admin API of a server listening beyond loopback: closed unless a token is set or it is opened on
purpose, and the startup log says which (as both Docker images serve on 0.0.0.0)."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.servers import output_of, serve

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_on_all_interfaces_without_a_token_the_admin_api_is_closed() -> None:
    with serve("--host", "0.0.0.0", "--store", ":memory:") as (base_url, process):
        jobs = httpx.get(base_url + "/_mixmock/jobs")
        stall = httpx.put(base_url + "/_mixmock/defaults", json={"prefer": "latency=300s, fault=drop"})
        output = output_of(process)
    assert (jobs.status_code, stall.status_code) == (403, 403)
    assert jobs.headers["content-type"] == "application/problem+json"
    assert "admin API /_mixmock/: closed: the server listens on 0.0.0.0" in output


def test_a_token_from_the_environment_opens_it_to_whoever_sends_it() -> None:
    env = {"MIXMOCK_ADMIN_TOKEN": "ci-t0ken"}
    with serve("--host", "0.0.0.0", "--store", ":memory:", env=env) as (base_url, process):
        refused = httpx.get(base_url + "/_mixmock/jobs")
        allowed = httpx.get(base_url + "/_mixmock/jobs", headers={"Authorization": "Bearer ci-t0ken"})
        output = output_of(process)
    assert (refused.status_code, allowed.status_code) == (401, 200)
    assert "admin API /_mixmock/: requires Authorization: Bearer" in output
    assert "ci-t0ken" not in output


def test_opened_on_purpose_it_answers_and_the_log_warns() -> None:
    with serve("--host", "0.0.0.0", "--store", ":memory:", "--admin", "open") as (base_url, process):
        jobs = httpx.get(base_url + "/_mixmock/jobs")
        output = output_of(process)
    assert jobs.status_code == 200
    assert "WARNING:  admin API /_mixmock/: open without a token, to anyone who can reach 0.0.0.0" in output
