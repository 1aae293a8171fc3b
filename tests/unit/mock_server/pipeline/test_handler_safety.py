"""The handler against hostile or unlucky requests: keys never echoed, violations bounded, the Host
checked, a client that hangs up, a store that fails."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.types import Message

from mock_server.app import create_app
from mock_server.pipeline.rendering import REQUEST_VIOLATIONS_HEADER
from mock_server.settings import Settings
from mock_server.state.database import open_database
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

IMG = CREATE_PATHS["img_mixer"]


@pytest.mark.parametrize(
    "key",
    [["sk-secret-0042"], 90_421_337_042, {"value": "sk-secret-0042"}, True],
    ids=["array", "number", "object", "boolean"],
)
def test_a_key_of_the_wrong_type_is_never_echoed(mock_client: ClientFactory, key: Any) -> None:
    with mock_client() as client:
        reply = client.post(IMG, json=valid_body("img_mixer", key=key))
        journal = client.get("/_mixmock/requests").json()["requests"]
    secret = "sk-secret-0042" if not isinstance(key, int) else str(key)
    assert reply.json()["message"] == "Invalid Api Key"
    assert "The key is missing or empty (received" in reply.headers[REQUEST_VIOLATIONS_HEADER]
    for place in (reply.text, reply.headers[REQUEST_VIOLATIONS_HEADER], json.dumps(journal)):
        assert secret not in place


def test_a_job_keeps_a_keyed_digest_of_its_key_not_a_plain_hash(mock_client: ClientFactory) -> None:
    import hashlib

    with mock_client() as client:
        client.post(IMG, json=valid_body("img_mixer", key="sk-secret-0042"))
        (job,) = client.get("/_mixmock/jobs").json()["jobs"]
    digest = job["extra"]["key"]
    assert hashlib.sha256(b"sk-secret-0042").hexdigest()[:16] not in digest
    assert "sk-secret-0042" not in json.dumps(job)


def test_the_queue_limit_still_counts_one_key_across_requests(mock_client: ClientFactory) -> None:
    with mock_client(queue_limit=2) as client:
        replies = [
            client.post(IMG, json=valid_body("img_mixer"), headers={"Prefer": "scenario=processing"}).json()
            for _ in range(3)
        ]
        other_key = client.post(IMG, json=valid_body("img_mixer", key="another"))
    assert [reply["status"] for reply in replies] == ["processing", "processing", "error"]
    assert other_key.json()["status"] == "success"


def test_a_body_of_99000_wrong_items_gets_a_small_reply(mock_client: ClientFactory) -> None:
    """297 KB on the wire; the reply named all 99 000 violations (6.8 MB) and took seconds."""
    body = {"key": "k", "prompt": "rose man", "init_image": [0] * 99_000}
    raw = json.dumps(body).encode()
    assert 290_000 < len(raw) < 300_000
    with mock_client() as client:
        reply = client.post(IMG, content=raw, headers={"content-type": "application/json"})
    assert reply.json()["status"] == "error"
    assert len(reply.content) < 8_000
    assert len(reply.headers[REQUEST_VIOLATIONS_HEADER]) <= 4_000
    message = reply.json()["message"]
    assert "The init image must not have more than 4 items" in message
    assert "more violations are not listed" in message


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        pytest.param("a b", "http://mock.test:80", id="space"),
        pytest.param("evil.test/x?", "http://mock.test:80", id="path-in-host"),
        pytest.param("[::g]:80", "http://mock.test:80", id="bad-ipv6"),
        pytest.param("mock_1:8000", "http://mock_1:8000", id="container-name"),
        pytest.param("[::1]:8000", "http://[::1]:8000", id="ipv6"),
    ],
)
def test_output_urls_use_a_valid_host_or_the_server_address(
    mock_client: ClientFactory, host: str, origin: str
) -> None:
    with mock_client() as client:  # strict: an invalid URI in a reply would be a 500
        reply = client.post(
            IMG,
            json=valid_body("img_mixer"),
            headers={"host": host, "Prefer": "scenario=processing"},
        )
    assert reply.status_code == 200
    body = reply.json()  # the fallback is the address the request came in on (the test client's)
    assert body["future_links"][0].startswith(origin + "/generations/")
    assert body["fetch_result"].startswith(origin + "/api/v6/")


def test_a_bad_host_falls_back_to_the_public_url_when_one_is_set(mock_client: ClientFactory) -> None:
    with mock_client(public_url="https://mock.example") as client:
        reply = client.post(IMG, json=valid_body("img_mixer"), headers={"host": "a b"})
    assert reply.json()["output"][0].startswith("https://mock.example/generations/")


def _aborted_upload(app: Any) -> list[Message]:
    """An ASGI request whose client hangs up after the first chunk of its body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": IMG,
        "raw_path": IMG.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"mock.test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"key": "k", "pro', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_client_that_hangs_up_mid_upload_is_journaled_not_an_internal_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(Settings(store=":memory:", access_log=False))
    assert _aborted_upload(app) == []  # nothing is sent to a client that is gone
    runtime = app.state.runtime
    (entry,) = runtime.journal.entries()
    assert (entry.http_status, entry.why) == (499, "client disconnected before its request body arrived")
    assert not [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]


def test_a_store_that_cannot_write_gets_the_vendors_503_and_ready_says_why(
    mock_client: ClientFactory, tmp_path: Any
) -> None:
    store = str(tmp_path / "jobs.sqlite3")
    with mock_client(store=store) as client:
        queued = {"Prefer": "scenario=processing"}
        made = client.post(IMG, json=valid_body("img_mixer"), headers=queued).json()
        counted = {"Prefer": "scenario=processing, polls=3"}
        polled = client.post(IMG, json=valid_body("img_mixer"), headers=counted).json()
        assert client.get("/ready").json() == {"ready": True, "store": store}
        database = open_database(store)
        with database.lock:  # between two store accesses of the app's background writers
            database.connection.execute("PRAGMA query_only = ON")  # every write fails from now on
        create = client.post(IMG, json=valid_body("img_mixer"))
        fetch = client.post(FETCH_PATHS["img_mixer"].format(id=made["id"]), json={"key": "k"})
        counted_fetch = client.post(FETCH_PATHS["img_mixer"].format(id=polled["id"]), json={"key": "k"})
        health = client.get("/health")
        ready = client.get("/ready")
        with database.lock:  # else a background write failing just before would note its failure after
            database.connection.execute("PRAGMA query_only = OFF")
            database.failure = None  # as after FAILURE_MEMORY_S
        again = client.get("/ready")
        recovered = client.post(IMG, json=valid_body("img_mixer"))
    for reply in (create, counted_fetch):  # both must write: a job, a poll
        assert reply.status_code == 503
        assert reply.json() == {
            "status": "error",
            "message": "Service temporarily unavailable. Please try again later.",
        }
    assert fetch.json()["status"] == "processing"  # what needs no write still works
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    assert "readonly" in ready.json()["reason"]
    assert again.status_code == 200
    assert recovered.json()["status"] == "success"
