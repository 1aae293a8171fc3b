from __future__ import annotations

from typing import Any

import pytest

from conformance.cases import RawBody
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
    (rule,) = request_violations(schema, broken)
    assert rule == Violation("kmax,steps", "rule layout-phase-runs")
    assert rule.sent == "kmax=0.04, steps=20"
    defaulted = {"prompt": "p", "image": "https://a.example/x.png", "kmax": 0.04}
    assert request_violations(schema, defaulted)[0].sent == "kmax=0.04, steps=20 (default)"
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


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (RawBody("[]"), Violation("(body)", "type object")),
        (RawBody("null"), Violation("(body)", "type object")),
        (RawBody('{"prompt": '), Violation("(body)", "a JSON body")),
        (RawBody(""), Violation("(body)", "a JSON body")),
        (RawBody('{"prompt": "p"}', "text/plain"), Violation("(body)", "content type application/json")),
    ],
    ids=["array", "null", "malformed", "empty", "text-plain"],
)
def test_a_body_that_is_no_json_object_is_out_of_contract(body: RawBody, expected: Violation) -> None:
    assert request_violations(OPS["img_mixer"].request_schema, body)[0] == expected


def test_an_integral_float_is_an_integer_and_a_numeric_string_is_not() -> None:
    schema = OPS["img_mixer"].request_schema
    assert request_violations(schema, {**VALID, "width": 880.0}) == []
    assert request_violations(schema, {**VALID, "width": "880"}) == [Violation("width", "type integer")]
    assert request_violations(schema, {**VALID, "width": True}) == [Violation("width", "type integer")]
