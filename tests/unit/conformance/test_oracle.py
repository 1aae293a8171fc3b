from __future__ import annotations

from typing import Any

import pytest

from conformance.oracle import Verdict, Violation, request_violations, verdict
from openapi.operations import load_operations

pytestmark = pytest.mark.unit
OPS = {op.operation_id: op for op in load_operations()}
VALID = {"key": "k", "prompt": "rose man", "init_image": ["https://a.example/x.png"]}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"guidance_scale": 21}, [Violation("guidance_scale", "maximum 20")]),
        ({"steps": "ten"}, [Violation("steps", "type integer")]),
        ({"init_image": ["not a uri"]}, [Violation("init_image", "format uri")]),
        ({"init_image": ["https://a.example/x.png"] * 5}, [Violation("init_image", "maxItems 4")]),
        ({"key": 12345}, []),
    ],
    ids=["valid", "above-maximum", "wrong-type", "bad-format", "too-many-items", "key-is-not-judged"],
)
def test_request_violations_name_parameter_and_constraint(
    change: dict[str, Any], expected: list[Violation]
) -> None:
    assert request_violations(OPS["img_mixer"].request_schema, {**VALID, **change}) == expected


def test_missing_required_field_and_cross_field_rule() -> None:
    schema = OPS["magic_mix_v5"].request_schema
    assert request_violations(schema, {"image": "https://a.example/x.png"}) == [
        Violation("prompt", "required")
    ]
    broken = {"prompt": "p", "image": "https://a.example/x.png", "kmax": 0.04, "steps": 20}
    assert request_violations(schema, broken) == [Violation("kmax,steps", "rule layout-phase-runs")]
    overflow = {"prompt": "p", "image": "https://a.example/x.png", "kmax": 1e200, "steps": 1e200}
    assert Violation("kmax", "maximum 1") in request_violations(schema, overflow)


@pytest.mark.parametrize(
    ("code", "body", "expected"),
    [
        (200, {"status": "success"}, Verdict.ACCEPTED),
        (200, {"status": "processing"}, Verdict.ACCEPTED),
        (200, {"status": "error", "message": "no"}, Verdict.REJECTED),
        (422, {"status": "error"}, Verdict.REJECTED),
        (401, None, Verdict.REJECTED),
        (200, {"status": "failed"}, Verdict.FAILED),
        (500, {"status": "success"}, Verdict.SERVER_ERROR),
        (200, ["not", "an", "object"], Verdict.UNREADABLE),
    ],
    ids=["success", "processing", "200-error-envelope", "422", "401-no-body", "failed", "500", "unreadable"],
)
def test_verdict_reads_the_envelope(code: int, body: Any, expected: Verdict) -> None:
    assert verdict(code, body) is expected
