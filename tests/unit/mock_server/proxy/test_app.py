"""The proxy in-process in front of the mock (the vendor): both sides checked, recorded, never more calls."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.app import create_app
from mock_server.settings import Settings
from mock_server.state.clock import ManualClock
from openapi.operations import load_operations
from tests.har_schema import har_errors
from tests.unit.mock_server.proxy.conftest import KEY, VENDOR, proxied

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

CREATE = "/api/v6/image_editing/img_mixer"
QUEUED = {"Prefer": "scenario=processing, polls=1"}
IMG_MIXER = next(operation for operation in load_operations(["v6"]) if operation.operation_id == "img_mixer")


def _observed() -> Any:
    return create_app(Settings(store=":memory:", access_log=False, profile="observed"), clock=ManualClock())


def _recording(folder: Path) -> dict[str, Any]:
    [path] = folder.glob("*.har")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_violations_are_reported_both_ways(
    img_mixer_body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "mixmock.proxy")
    with proxied(_observed()) as p:
        reply = p.client.post(CREATE, json={**img_mixer_body, "steps": 51})
    assert reply.json() == {"status": "error", "message": {"steps": [reply.json()["message"]["steps"][0]]}}
    assert (
        "steps: maximum: The steps must not be greater than 50"
        in reply.headers["x-mixmock-request-violations"]
    )
    assert reply.headers["x-mixmock-violations"].startswith("message: type:")
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        "img_mixer request breaks the spec",
        "img_mixer reply breaks the spec",
    ]


def test_a_conformant_exchange_carries_no_violation_header(img_mixer_body: dict[str, Any]) -> None:
    with proxied() as p:
        reply = p.client.post(CREATE, json=img_mixer_body)
    assert reply.json()["status"] == "success"
    assert not {"x-mixmock-violations", "x-mixmock-request-violations"} & set(reply.headers)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            json.dumps({"key": KEY, "init_image": ["https://img.example/a.png"]}),
            "The prompt field is required.",
        ),
        ("{not json", "Invalid API Request"),
        (json.dumps({"prompt": "p", "init_image": ["https://img.example/a.png"]}), "Invalid Api Key"),
    ],
    ids=["missing-prompt", "malformed", "no-key"],
)
def test_block_invalid_answers_in_the_vendors_envelope_without_a_call(content: str, message: str) -> None:
    with proxied(block_invalid=True) as p:
        reply = p.client.post(CREATE, content=content, headers={"content-type": "application/json"})
        assert p.transport.requests == []
    assert (reply.status_code, reply.json()["status"], reply.json()["message"]) == (200, "error", message)
    assert "x-mixmock-request-violations" in reply.headers


def test_block_invalid_still_forwards_what_is_valid(img_mixer_body: dict[str, Any]) -> None:
    with proxied(block_invalid=True) as p:
        assert p.client.post(CREATE, json=img_mixer_body).json()["status"] == "success"
        assert len(p.transport.requests) == 1


def test_without_block_invalid_the_target_answers_an_invalid_request(img_mixer_body: dict[str, Any]) -> None:
    with proxied() as p:
        reply = p.client.post(CREATE, json={**img_mixer_body, "steps": 51})
        assert len(p.transport.requests) == 1
    assert reply.headers["x-mixmock-example"] == "error_validation"  # the mock, as vendor, said it


def test_a_body_over_the_limit_is_never_forwarded(img_mixer_body: dict[str, Any]) -> None:
    with proxied(max_body_bytes=1000) as p:
        reply = p.client.post(CREATE, json={**img_mixer_body, "prompt": "x" * 5000})
        assert p.transport.requests == []
    assert reply.json()["message"] == "Invalid API Request"
    assert "larger than 1000 bytes" in reply.headers["x-mixmock-request-violations"]


def test_a_target_that_fails_gives_the_vendors_503(img_mixer_body: dict[str, Any], tmp_path: Path) -> None:
    with proxied(record=str(tmp_path)) as p:
        p.transport.error = httpx.ConnectError("connection refused")
        reply = p.client.post(CREATE, json=img_mixer_body)
    assert (reply.status_code, reply.json()) == (503, IMG_MIXER.status_examples[503])
    assert "ConnectError: connection refused" in reply.headers["x-mixmock-proxy-error"]
    [entry] = _recording(tmp_path)["log"]["entries"]
    assert entry["_mixmock"]["answered_by"] == "proxy"
    assert "connection refused" in entry["_mixmock"]["error"]


def test_other_routes_pass_through_untouched() -> None:
    with proxied() as p:
        health = p.client.get("/health")
        unknown = p.client.post("/api/v6/images/text2img", json={"key": KEY})
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert (unknown.status_code, unknown.headers["content-type"]) == (404, "application/problem+json")
    assert "x-mixmock-violations" not in unknown.headers


def test_without_recording_replies_pass_unchanged(img_mixer_body: dict[str, Any]) -> None:
    with proxied() as p:
        queued = p.client.post(CREATE, json=img_mixer_body, headers=QUEUED).json()
    assert queued["fetch_result"] == f"{VENDOR}/api/v6/image_editing/fetch/{queued['id']}"


def test_a_recording_holds_the_whole_lifecycle_and_no_key(
    img_mixer_body: dict[str, Any], tmp_path: Path
) -> None:
    with proxied(record=str(tmp_path)) as p:
        queued = p.client.post(CREATE, json=img_mixer_body, headers=QUEUED).json()
        assert queued["fetch_result"] == f"http://proxy.test/api/v6/image_editing/fetch/{queued['id']}"
        [link] = queued["future_links"]
        assert link.startswith("http://proxy.test/_recorded/http/vendor.test/generations/")
        replies = [p.client.post(queued["fetch_result"], json={"key": KEY}).json() for _ in range(2)]
        image = p.client.get(link, headers={"authorization": f"Bearer {KEY}"})
    assert [reply["status"] for reply in replies] == ["processing", "success"]
    assert replies[1]["output"] == [link]
    assert (image.status_code, image.content[:4]) == (200, b"\x89PNG")
    document = _recording(tmp_path)
    assert har_errors(document) == []
    notes = [
        (entry["_mixmock"]["kind"], entry["_mixmock"].get("job_id")) for entry in document["log"]["entries"]
    ]
    job = str(queued["id"])
    assert notes == [("create", job), ("fetch", job), ("fetch", job), ("download", None)]
    first = document["log"]["entries"][0]
    assert (
        f'"fetch_result":"{VENDOR}/api/v6/image_editing/fetch/{job}"' in first["response"]["content"]["text"]
    )
    for path in tmp_path.iterdir():
        assert KEY.encode() not in path.read_bytes()


def test_the_webhook_url_goes_to_the_proxy_and_the_payload_is_checked(
    img_mixer_body: dict[str, Any], tmp_path: Path
) -> None:
    hook = "http://127.0.0.1:9/hook"
    with proxied(record=str(tmp_path), webhooks="record") as p:
        p.client.post(CREATE, json={**img_mixer_body, "webhook": hook, "track_id": 7}, headers=QUEUED)
        forwarded = json.loads(p.transport.requests[-1].content)
        receiver = forwarded["webhook"]
        assert receiver.startswith("http://proxy.test/_mixmock/proxy/webhooks/")
        assert forwarded["track_id"] == 7
        good = p.client.post(
            receiver, json={"status": "success", "id": 1, "output": ["https://a/1.png"], "track_id": 7}
        )
        bad = p.client.post(receiver, json={"status": "success", "id": "1", "output": [], "track_id": 7})
        unknown = p.client.post("/_mixmock/proxy/webhooks/not-a-token", json={})
    assert (good.status_code, good.json(), "x-mixmock-request-violations" in good.headers) == (200, {}, False)
    assert bad.headers["x-mixmock-request-violations"].startswith("id: type:")
    assert unknown.status_code == 404
    webhooks = [
        entry for entry in _recording(tmp_path)["log"]["entries"] if entry["_mixmock"]["kind"] == "webhook"
    ]
    assert [entry["request"]["url"] for entry in webhooks] == [hook, hook]


def test_a_relay_to_a_host_not_allowed_is_refused_and_noted(
    img_mixer_body: dict[str, Any], tmp_path: Path
) -> None:
    with proxied(record=str(tmp_path), webhooks="relay") as p:
        p.client.post(CREATE, json={**img_mixer_body, "webhook": "https://hooks.example/h"}, headers=QUEUED)
        receiver = json.loads(p.transport.requests[-1].content)["webhook"]
        calls = len(p.transport.requests)
        reply = p.client.post(receiver, json={"status": "failed", "id": 1, "message": "x", "track_id": None})
        assert len(p.transport.requests) == calls
    assert reply.status_code == 200
    webhook = _recording(tmp_path)["log"]["entries"][-1]["_mixmock"]
    assert "not an allowed webhook host" in webhook["error"]


@pytest.mark.parametrize(
    ("path", "status"),
    [("/_recorded/https/evil.example/a.png", 403), ("/_recorded/file/etc/passwd", 404)],
    ids=["host-not-allowed", "not-http"],
)
def test_downloads_go_only_to_allowed_hosts(path: str, status: int) -> None:
    with proxied() as p:
        reply = p.client.get(path)
        assert p.transport.requests == []
    assert (reply.status_code, reply.headers["content-type"]) == (status, "application/problem+json")


def test_health_names_the_target_and_the_recording(tmp_path: Path) -> None:
    with proxied(record=str(tmp_path)) as p:
        health = p.client.get("/_mixmock/proxy/health").json()
    assert health["target"] == VENDOR
    assert health["recording"].startswith(str(tmp_path))


def test_the_budget_caps_the_creates_forwarded_but_not_the_polls(img_mixer_body: dict[str, Any]) -> None:
    with proxied(budget=1) as p:
        queued = p.client.post(CREATE, json=img_mixer_body, headers=QUEUED).json()
        refused = p.client.post(CREATE, json=img_mixer_body)
        polled = p.client.post(f"/api/v6/image_editing/fetch/{queued['id']}", json={"key": KEY})
        assert len(p.transport.requests) == 2  # the first create and the poll
    assert (refused.status_code, refused.headers["content-type"]) == (429, "application/problem+json")
    assert "--budget 1" in refused.json()["detail"]
    assert polled.json()["status"] == "processing"


def test_the_log_is_scrubbed_like_the_recording(
    img_mixer_body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "mixmock.proxy")
    secret = "not-a-url-secret-4f3e2d1c"
    with proxied(redact=("init_image",), access_log=True) as p:
        p.client.post(f"{CREATE}?key={KEY}", json={**img_mixer_body, "init_image": [secret]})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "init_image.0: format" in text
    assert secret not in text
    assert KEY not in text
