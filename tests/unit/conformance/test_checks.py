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
    return [finding.key for _, findings in run_checks(reply) for finding in findings]


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
        ({"status": "error", "message": ""}, ["img_mixer reply.message: an error message is not empty"]),
        ({**SUCCESS, "meta": {**SUCCESS["meta"], "W": 800.0}}, []),
    ],
    ids=[
        "conformant",
        "id-type",
        "output-missing",
        "unknown-status",
        "meta-echo",
        "undeclared",
        "laravel-message",
        "empty-message",
        "integral-float-echo",
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


def test_every_check_has_a_name_and_each_finding_its_source() -> None:
    reply = Reply(
        IMG_MIXER, "smoke", "page example", SENT, Exchange("POST", "u", 200, "application/json", b'{"x": 1}')
    )
    results = dict(run_checks(reply))
    assert "the reply matches the branch its status names" in results
    (missing,) = results["the reply matches the branch its status names"]
    assert missing.key == "img_mixer reply.status: enum success|processing|error|failed"
    slashes = Exchange(
        "POST", "u", 200, "application/json", b'{"status":"success","id":7,"output":["a:\\/b"]}'
    )
    escaped = dict(run_checks(Reply(IMG_MIXER, "smoke", "x", SENT, slashes)))["slashes are not escaped"]
    assert [finding.provenance for finding in escaped] == ["inferred"]
    no_output = Exchange("POST", "u", 200, "application/json", b'{"status":"success","id":7}')
    (required,) = dict(run_checks(Reply(IMG_MIXER, "smoke", "x", SENT, no_output)))[
        "the reply matches the branch its status names"
    ]
    assert (required.key, required.provenance) == (
        "img_mixer reply.output: success branch required",
        "inferred",
    )


def test_a_reply_nested_too_deep_is_no_json_and_no_crash() -> None:
    deep = b"[" * 100000 + b"]" * 100000
    assert _keys(None, raw=deep) == ["img_mixer reply: a JSON body"]
