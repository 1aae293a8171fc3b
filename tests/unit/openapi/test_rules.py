"""The cross-field rules the magic_mix specs declare."""

from __future__ import annotations

from typing import Any

import pytest

from openapi import load_spec
from openapi.rules import cross_field_violations

pytestmark = pytest.mark.unit

SCHEMA = load_spec("v5")["components"]["schemas"]["MagicMixRequest"]


@pytest.mark.parametrize(
    ("body", "broken"),
    [
        ({}, False),  # defaults: int(0.5 * 20) = 10 steps run
        ({"steps": 1}, True),  # int(0.5 * 1) = 0
        ({"steps": 2}, False),
        ({"kmax": 0, "steps": 50}, True),
        ({"kmax": 0.1, "steps": 10}, False),  # 0.1 * 10 is 0.9999999999999999 in binary
        ({"kmax": 1, "steps": 1}, False),
        ({"kmax": "high", "steps": 1}, False),  # a type error is the schema's to report
        ({"kmax": None, "steps": 1}, True),  # null falls back to the default
        ({"kmax": 1e200, "steps": 1e200}, False),  # the product overflows to inf
        ({"kmax": -1e200, "steps": 1e200}, True),
    ],
    ids=[
        *("defaults", "steps-1", "steps-2", "kmax-0", "rounding", "kmax-1-steps-1", "wrong-type", "null"),
        *("overflow", "overflow-negative"),
    ],
)
def test_layout_phase_rule(body: dict[str, Any], broken: bool) -> None:
    violations = cross_field_violations(SCHEMA, body)
    assert bool(violations) is broken
    if broken:
        assert violations[0].rule_id == "layout-phase-runs"
        assert violations[0].fields == ("kmax", "steps")


def test_non_object_bodies_break_no_rule() -> None:
    assert cross_field_violations(SCHEMA, [1, 2]) == []


def test_img_mixer_declares_no_rule() -> None:
    schema = load_spec("v6")["components"]["schemas"]["ImageMixerRequest"]
    assert cross_field_violations(schema, {"steps": 1}) == []
