from __future__ import annotations

from typing import Any

import pytest

from conformance.boundaries import ranges_cases
from conformance.cases import MISSING, WRONG_KEY, RawBody
from conformance.oracle import request_violations
from openapi.operations import Operation, load_operations

pytestmark = pytest.mark.unit
OPS = {op.operation_id: op for op in load_operations()}


def _values(op: Operation, parameter: str, constraint: str) -> list[Any]:
    return [
        case.value
        for case in ranges_cases(op)
        if (case.parameter, case.constraint) == (parameter, constraint)
    ]


@pytest.mark.parametrize(
    ("operation", "parameter", "constraint", "values"),
    [
        ("img_mixer", "guidance_scale", "maximum 20", [20, 20.01, 20.5, 21]),
        ("img_mixer", "guidance_scale", "minimum 1", [1, 0.99, 0.5, 0]),
        ("img_mixer", "steps", "maximum 50", [50, 50.01, 50.5, 51]),
        ("magic_mix_enterprise", "kmin", "maximum 1", [1, 1.01, 1.5, 2]),
        ("magic_mix_enterprise", "kmin", "minimum 0", [0, -0.01, -0.5, -1]),
        ("magic_mix_v5", "samples", "maximum 4", [4, 4.01, 4.5, 5]),
        ("img_mixer", "prompt", "minLength 1", ["a", ""]),
        ("img_mixer", "prompt", "required", [MISSING]),
        ("img_mixer", "prompt", "type string", [12345, None]),
        ("img_mixer", "width", "type integer", [720.5, 720.0, "720", True, None]),
        ("img_mixer", "guidance_scale", "type number", ["10", True, None]),
        ("img_mixer", "seed", "type integer|null", [12265.5, 12265.0, "12265", True, None]),
        ("img_mixer", "track_id", "type integer|null", [-79.5, -80.0, "-80", True, None, 4242]),
        ("magic_mix_v5", "track_id", "type string|null", [12345, "audit-4242"]),
        ("magic_mix_v5", "webhook", "format uri", ["not a uri"]),
        ("magic_mix_v5", "kmax,steps", "rule layout-phase-runs", [0.05, 0.04]),
    ],
    ids=lambda value: str(value) if isinstance(value, str) else None,
)
def test_each_bound_is_probed_on_it_and_just_outside(
    operation: str, parameter: str, constraint: str, values: list[object]
) -> None:
    assert _values(OPS[operation], parameter, constraint) == values


def test_array_lengths_are_probed_at_and_past_each_limit() -> None:
    lengths = [len(value) for value in _values(OPS["img_mixer"], "init_image", "maxItems 4")]
    assert lengths == [4, 5]
    assert [len(value) for value in _values(OPS["img_mixer"], "init_image", "minItems 1")] == [1, 0]


def test_every_item_of_an_array_is_probed_not_only_the_first() -> None:
    (bad_format,) = _values(OPS["img_mixer"], "init_image", "format uri")
    (bad_type,) = _values(OPS["img_mixer"], "init_image", "type string")
    assert bad_format[0].startswith("https://")
    assert bad_format[1:] == ["not a uri"]
    assert bad_type[0].startswith("https://")
    assert bad_type[1:] == [12345]


def test_tolerance_and_bodies_that_are_not_objects() -> None:
    cases = {(case.parameter, case.constraint): case for case in ranges_cases(OPS["magic_mix_enterprise"])}
    extra = cases[("(body)", "unknown fields tolerated")]
    assert extra.body["audit_extra_field"] == "x"
    assert extra.provenance == "vendor-openapi"
    sdk = cases[("(body)", "the sdk-py 0.2.3 MagicMixSchema body")]
    assert sdk.body["guidance_scale"] == 7.5
    assert request_violations(OPS["magic_mix_enterprise"].request_schema, sdk.body) == []
    raw = [case.body for case in ranges_cases(OPS["magic_mix_enterprise"]) if isinstance(case.body, RawBody)]
    assert [body.text for body in raw[:4]] == ["[]", '"Bed"', "42", "null"]
    assert raw[5].text == ""
    assert raw[6].content_type == "text/plain"
    for case in ranges_cases(OPS["magic_mix_enterprise"]):
        if isinstance(case.body, RawBody):
            assert request_violations(OPS["magic_mix_enterprise"].request_schema, case.body), case.constraint


def test_a_bound_value_is_kept_valid_where_a_cross_field_rule_allows() -> None:
    steps_one = next(
        case
        for case in ranges_cases(OPS["magic_mix_enterprise"])
        if case.parameter == "steps" and case.value == 1
    )
    assert steps_one.body["kmax"] == 1
    assert request_violations(OPS["magic_mix_enterprise"].request_schema, steps_one.body) == []


def test_key_cases_and_determinism() -> None:
    cases = ranges_cases(OPS["img_mixer"])
    assert [case.key_override for case in cases if case.parameter == "key"] == [WRONG_KEY, None]
    assert [c.body for c in cases] == [c.body for c in ranges_cases(OPS["img_mixer"])]
    assert all("key" not in case.body for case in cases if isinstance(case.body, dict))
    assert ranges_cases(OPS["fetch_v6"]) == []
