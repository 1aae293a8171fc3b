"""Three `mixmock serve` processes on one Redis: one mock, whichever replica a request reaches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.tooling.redis_server import RedisServer, redis_server
from tests.integration.scale.replicas import SCALE_TESTS, Replica, fetch_until_done, replicas, wait_for
from tests.integration.servers import kill, receiver
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [*SCALE_TESTS, pytest.mark.timeout(300)]

PATH = CREATE_PATHS["img_mixer"]


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replica]]:
    with redis_server(tmp_path_factory.mktemp("redis")) as redis, replicas(3, redis.url, "shared") as started:
        yield started


def body(**changes: Any) -> dict[str, Any]:
    return valid_body("img_mixer", **changes)


def test_a_job_created_on_one_replica_is_fetched_and_downloaded_on_the_others(three: list[Replica]) -> None:
    queued = three[0].post(PATH, body(), headers={"Prefer": "scenario=processing, polls=0"}).json()
    assert queued["status"] == "processing"
    fetch_path = queued["fetch_result"].removeprefix(three[0].url)
    done = fetch_until_done(three[1].url + fetch_path)
    assert done["status"] == "success"
    assert done["output"] == queued["future_links"]
    name = done["output"][0].rsplit("/", 1)[1]  # a URL on replica 0; replica 2 serves the same file
    download = httpx.get(f"{three[2].url}/generations/{name}", timeout=30)
    assert download.status_code == 200
    assert download.content.startswith(b"\x89PNG")
    assert three[2].admin("GET", f"/jobs/{queued['id']}")["state"] == "success"


def test_ids_are_unique_across_replicas(three: list[Replica]) -> None:
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(lambda index: three[index % 3].post(PATH, body()).json(), range(90)))
    ids = [reply["id"] for reply in replies]
    assert {reply["status"] for reply in replies} == {"success"}
    assert len(set(ids)) == 90


def test_defaults_changed_on_one_replica_are_seen_by_all_at_once(three: list[Replica]) -> None:
    three[0].admin("PUT", "/defaults", json={"prefer": "scenario=processing"})
    try:
        assert [replica.post(PATH, body()).json()["status"] for replica in three] == ["processing"] * 3
        three[1].admin("DELETE", "/defaults")
        assert [replica.post(PATH, body()).json()["status"] for replica in three] == ["success"] * 3
    finally:
        three[0].admin("DELETE", "/defaults")


def test_the_journal_is_complete_from_any_replica(three: list[Replica]) -> None:
    marker = f"journal-{time.monotonic_ns()}"
    for index in range(30):
        three[index % 3].post(PATH, body(prompt=marker, track_id=index))

    def complete_everywhere() -> bool:
        seen = [replica.admin("GET", "/requests", params={"body.prompt": marker}) for replica in three]
        return all(len(found["requests"]) == 30 for found in seen)

    wait_for(complete_everywhere, "every replica lists all 30 requests")  # each writes behind by ~20 ms
    entries = three[2].admin("GET", "/requests", params={"body.prompt": marker})["requests"]
    assert sorted(entry["body"]["track_id"] for entry in entries) == list(range(30))
    assert [entry["seq"] for entry in entries] == sorted({entry["seq"] for entry in entries})


def test_every_webhook_is_delivered_exactly_once(three: list[Replica]) -> None:
    with receiver() as (hook, hooks):
        for index in range(30):
            prefer = {"Prefer": "scenario=processing, eta=1"} if index % 2 else {}
            three[index % 3].post(PATH, body(webhook=hook, track_id=index), headers=prefer)
        hooks.received(30, timeout=30)
        time.sleep(2.0)  # time for any duplicate: every replica polls due deliveries every 0.5 s
        bodies = list(hooks.bodies)
    assert sorted(payload["track_id"] for payload in bodies) == list(range(30))
    delivered = three[1].admin("GET", "/webhooks", params={"state": "delivered", "limit": "1000"})[
        "deliveries"
    ]
    mine = [d for d in delivered if d["url"] == hook]
    assert len(mine) == 30
    assert all(len(d["attempts"]) == 1 for d in mine)


def test_a_replica_killed_under_load_loses_no_accepted_job(tmp_path: Path) -> None:
    with (
        redis_server(tmp_path / "redis") as redis,
        replicas(3, redis.url, "kill", "--processing-ratio", "1") as up,
    ):
        accepted: list[dict[str, Any]] = []
        refused = 0

        def send(index: int) -> None:
            nonlocal refused
            try:
                reply = up[index % 3].post(PATH, body(track_id=index))
            except Exception:  # the killed replica: a request it never answered was never accepted
                refused += 1
                return
            if reply.status_code == 200:
                accepted.append(reply.json())

        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(send, index) for index in range(300)]
            wait_for(lambda: len(accepted) >= 60, "60 jobs accepted before the kill")
            kill(up[1].process)
            for future in futures:
                future.result()
        survivors = [up[0], up[2]]
        assert refused > 0 or len(accepted) == 300
        for index, reply in enumerate(accepted):
            assert reply["status"] == "processing"
            fetch_path = reply["fetch_result"].split("/api/", 1)[1]
            done = fetch_until_done(f"{survivors[index % 2].url}/api/{fetch_path}")
            assert (done["status"], done["id"], done["output"]) == (
                "success",
                reply["id"],
                reply["future_links"],
            )


def test_a_redis_restart_with_persistence_loses_nothing(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis", persistence="aof")
    redis.start()
    try:
        with replicas(2, redis.url, "restart") as up:
            queued = [
                up[0].post(PATH, body(), headers={"Prefer": "scenario=processing, polls=1"}).json()
                for _ in range(5)
            ]
            up[0].admin("PUT", "/defaults", json={"ratios": {"processing": 1.0}})
            redis.restart()
            wait_for(lambda: up[1].admin("GET", "/defaults")["ratios"], "defaults read after the restart")
            for reply in queued:
                fetch_path = reply["fetch_result"].split("/api/", 1)[1]
                done = fetch_until_done(f"{up[1].url}/api/{fetch_path}")
                assert (done["status"], done["output"]) == ("success", reply["future_links"])
            later = up[1].post(PATH, body()).json()
            assert later["status"] == "processing"  # the defaults came back with the data
            assert later["id"] not in {reply["id"] for reply in queued}
    finally:
        redis.stop()
