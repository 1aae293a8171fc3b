"""Both sides checked: the request, the reply by the branch its status names, the webhook payload."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mock_server.pipeline.intake import Intake
from mock_server.proxy.contract import reply_violations, request_violations, webhook_violations
from openapi.operations import Operation, load_operations

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

OPERATIONS = {operation.operation_id: operation for operation in load_operations()}


def _fields(violations: list[Any]) -> list[tuple[str, str]]:
    return [(violation.field, violation.keyword) for violation in violations]


def _reply(
    operation: Operation, body: Any, status: int = 200, content_type: str = "application/json"
) -> list[Any]:
    return reply_violations(operation, status, content_type, json.dumps(body).encode())


def test_any_non_empty_key_passes_the_request_check() -> None:
    intake = Intake(
        {"key": "whatever", "prompt": "p", "init_image": ["https://a"], "steps": 51}, None, {}, "", {}
    )
    assert _fields(request_violations(OPERATIONS["img_mixer"], intake)) == [("steps", "maximum")]


@pytest.mark.parametrize(
    ("operation", "body", "expected"),
    [
        (
            "fetch_v6",
            {"status": "processing", "messege": "try again later.", "output": ""},
            [("messege", "undeclared")],
        ),
        (
            "img_mixer",
            {"status": "processing", "id": 1, "eta": 5.5, "fetch_result": "https://a/1", "future_links": []},
            [("eta", "type")],
        ),
        (
            "img_mixer",
            {"status": "error", "message": {"prompt": ["The prompt field is required."]}},
            [("message", "type")],
        ),
        ("fetch_v6", {"status": "success", "id": 1, "output": ["https://a/1.png"]}, []),
        ("fetch_v6", {"status": "queued"}, [("status", "enum")]),
    ],
    ids=["messege", "float-eta", "laravel-object", "conformant", "unknown-status"],
)
def test_the_reply_is_judged_by_its_status_branch(
    operation: str, body: Any, expected: list[tuple[str, str]]
) -> None:
    found = _fields(_reply(OPERATIONS[operation], body))
    assert found[: len(expected)] == expected if expected else found == []


def test_a_reply_that_is_not_json_is_a_violation() -> None:
    [violation] = reply_violations(OPERATIONS["fetch_v6"], 502, "text/html", b"<html>Bad gateway</html>")
    assert violation.keyword == "malformed"
    assert "text/html" in violation.message


def test_an_undeclared_http_status_is_a_violation() -> None:
    assert _fields(_reply(OPERATIONS["fetch_v6"], {"status": "error", "message": "x"}, status=418)) == [
        ("", "status")
    ]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"status": "success", "id": 1, "output": ["https://a/1.png"], "track_id": "t"}, []),
        ({"status": "success", "id": "1", "output": ["https://a/1.png"], "track_id": 7}, [("id", "type")]),
        ({"status": "failed", "id": 1, "message": "Failed, Try Again"}, [("", "required")]),
        ({"status": "processing", "id": 1}, [("status", "enum")]),
        ([1, 2], [("", "type")]),
    ],
    ids=["success", "string-id", "no-track-id", "no-such-status", "not-an-object"],
)
def test_webhook_payloads_are_judged_by_the_webhooks_branch(
    payload: Any, expected: list[tuple[str, str]]
) -> None:
    assert _fields(webhook_violations(OPERATIONS["img_mixer"], payload)) == expected
