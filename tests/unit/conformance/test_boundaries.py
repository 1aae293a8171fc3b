from __future__ import annotations

from typing import Any

import pytest

from conformance.boundaries import ranges_cases
from conformance.cases import MISSING, WRONG_KEY
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
        ("img_mixer", "guidance_scale", "maximum 20", [20, 21]),
        ("img_mixer", "guidance_scale", "minimum 1", [1, 0]),
        ("img_mixer", "steps", "maximum 50", [50, 51]),
        ("magic_mix_enterprise", "kmin", "maximum 1", [1, 1.01]),
        ("magic_mix_v5", "samples", "maximum 4", [4, 5]),
        ("img_mixer", "prompt", "minLength 1", ["a", ""]),
        ("img_mixer", "prompt", "required", [MISSING]),
        ("img_mixer", "width", "type integer", ["not-a-number"]),
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
    assert all("key" not in case.body for case in cases)
    assert ranges_cases(OPS["fetch_v6"]) == []
