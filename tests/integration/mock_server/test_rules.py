"""Reply rules on real servers: a rule added through one process is matched by every worker and replica
at once, and the rules file is read again when it changes (a bad edit keeps the last good rules)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from mock_server.tooling.redis_server import RedisServer
from tests.integration.servers import launch
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

IMG = CREATE_PATHS["img_mixer"]
FAIL_ALL = {"name": "fail all", "then": {"scenario": "failed"}}


def status(base_url: str, **changes: object) -> str:
    reply = httpx.post(base_url + IMG, json=valid_body("img_mixer", **changes), timeout=30)
    result: str = reply.json()["status"]
    return result


def wait_for_status(base_url: str, expected: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := status(base_url)) != expected:
        assert time.monotonic() < deadline, f"still {seen!r}, expected {expected!r}"
        time.sleep(0.2)


def test_a_rule_added_through_one_worker_holds_in_every_worker(tmp_path: Path) -> None:
    with launch(tmp_path, "--workers", "2", "--store", str(tmp_path / "jobs.sqlite3")) as server:
        added = httpx.post(server.base_url + "/_mixmock/rules", json=FAIL_ALL, timeout=30)
        assert added.status_code == 201
        # new connections: the kernel spreads them over both workers, and each must see the rule
        assert {status(server.base_url) for _ in range(30)} == {"failed"}
        httpx.delete(server.base_url + "/_mixmock/rules/fail all", timeout=30)
        assert {status(server.base_url) for _ in range(30)} == {"success"}


@pytest.mark.redis
def test_a_rule_added_through_one_replica_holds_in_the_others(
    tmp_path: Path, redis_service: RedisServer
) -> None:
    store = ("--store", redis_service.url, "--store-prefix", f"rules-{os.getpid()}")
    with launch(tmp_path, *store) as first, launch(tmp_path, *store) as second:
        assert status(second.base_url) == "success"  # the second replica has read the (empty) rules
        httpx.post(first.base_url + "/_mixmock/rules", json=FAIL_ALL, timeout=30)
        assert status(second.base_url) == "failed"
        listed = httpx.get(second.base_url + "/_mixmock/rules", timeout=30).json()
        assert [rule["name"] for rule in listed["rules"]] == ["fail all"]


def test_the_rules_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: [{name: queue all, then: {scenario: processing}}]\n")
    with launch(tmp_path, "--rules", str(rules), "--rules-poll", "0.2") as server:
        assert status(server.base_url) == "processing"
        rules.write_text("rules: [{name: fail all, then: {scenario: failed}}]\n")
        wait_for_status(server.base_url, "failed")
        rules.write_text("rules: [{name: broken, then: {scenario: sometimes}}]\n")
        deadline = time.monotonic() + 60
        while "keeping the 1 rule(s) loaded before" not in server.text():
            assert time.monotonic() < deadline, server.text()
            time.sleep(0.2)
        assert status(server.base_url) == "failed"  # the last good rules still hold
        listed = httpx.get(server.base_url + "/_mixmock/rules", timeout=30).json()
        assert "scenario='sometimes'" in listed["file"]["error"]
        time.sleep(1.0)  # more polls of the same broken file: still one line
        assert server.text().count("keeping the 1 rule(s) loaded before") == 1
