from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.checks import Reply, run_checks
from conformance.client import Exchange
from openapi.operations import load_operations

pytestmark = pytest.mark.unit
IMG_MIXER = next(op for op in load_operations(["v6"]) if op.operation_id == "img_mixer")
SENT = {"key": "k", "prompt": "rose man", "init_image": ["https://a/1.png", "https://a/2.png"], "width": 800}
SUCCESS: dict[str, Any] = {
    "status": "success",
    "id": 7,
    "output": ["https://cdn/x.png"],
    "meta": {"W": 800, "prompt": "rose man", "init_image": "https://a/1.png,https://a/2.png"},
}


def _keys(
    body: Any, code: int = 200, media_type: str = "application/json", raw: bytes | None = None
) -> list[str]:
    content = raw if raw is not None else json.dumps(body).encode()
    reply = Reply(IMG_MIXER, "smoke", "page example", SENT, Exchange("POST", "u", code, media_type, content))
    return [finding.key for finding in run_checks(reply)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (SUCCESS, []),
        ({**SUCCESS, "id": "7"}, ["img_mixer reply.id: success branch type integer"]),
        (
            {k: v for k, v in SUCCESS.items() if k != "output"},
            ["img_mixer reply.output: success branch required"],
        ),
        ({**SUCCESS, "status": "done"}, ["img_mixer reply.status: enum success|processing|error|failed"]),
        ({**SUCCESS, "meta": {**SUCCESS["meta"], "W": 808}}, ["img_mixer reply.meta.W: echoes width"]),
        ({**SUCCESS, "messege": "x"}, ["img_mixer reply.messege: success branch declares the property"]),
        (
            {"status": "error", "message": {"prompt": ["required"]}},
            ["img_mixer reply.message: error branch type string"],
        ),
    ],
    ids=[
        "conformant",
        "id-type",
        "output-missing",
        "unknown-status",
        "meta-echo",
        "undeclared",
        "laravel-message",
    ],
)
def test_reply_checks_name_the_branch_field(body: dict[str, Any], expected: list[str]) -> None:
    assert _keys(body) == expected


def test_server_errors_and_content_types() -> None:
    assert _keys(None, code=500, media_type="text/plain", raw=b"boom") == [
        "img_mixer reply: not a server error",
        "img_mixer reply: content type application/json",
    ]
    assert _keys(None, raw=b'{"status":"success","id":7,"output":["https:\\/\\/cdn\\/x.png"]}') == [
        "img_mixer reply: slashes are not escaped in JSON"
    ]
