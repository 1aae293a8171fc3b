from __future__ import annotations

import pytest

from conformance.sources import fails, request_source
from openapi.operations import load_operations

pytestmark = pytest.mark.unit
OPS = {operation.operation_id: operation for operation in load_operations()}


@pytest.mark.parametrize(
    ("operation", "parameter", "constraint", "source"),
    [
        ("img_mixer", "guidance_scale", "maximum 20", "pages"),
        ("img_mixer", "prompt", "minLength 1", "inferred"),
        ("img_mixer", "width", "minimum 1", "inferred"),
        ("img_mixer", "init_image", "format uri", "pages"),
        ("img_mixer", "init_image", "minItems 1", "inferred"),
        ("magic_mix_enterprise", "width", "maximum 1024", "inferred"),
        ("magic_mix_enterprise", "kmin", "minimum 0", "inferred"),
        ("magic_mix_v5", "samples", "maximum 4", "pages"),
        ("magic_mix_v5", "kmax,steps", "rule layout-phase-runs", "inferred"),
        ("img_mixer", "prompt", "required", "pages"),
        ("fetch_v6", "key", "required", "vendor-openapi"),
        ("img_mixer", "(body)", "type object", "pages"),
    ],
)
def test_each_constraint_has_the_source_the_spec_marks(
    operation: str, parameter: str, constraint: str, source: str
) -> None:
    assert request_source(OPS[operation], parameter, constraint) == source


def test_only_documented_sources_fail_by_default() -> None:
    assert fails("pages", "documented")
    assert fails("vendor-openapi", "documented")
    assert not fails("inferred", "documented")
    assert fails("inferred", "inferred")
