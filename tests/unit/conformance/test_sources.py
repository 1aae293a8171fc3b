from __future__ import annotations

import re

import pytest

from conformance.sources import fails, request_source
from openapi.operations import load_operations

pytestmark = pytest.mark.unit
OPS = {operation.operation_id: operation for operation in load_operations()}


# source -> the constraints the spec marks with it, named as a finding names them:
# "operation parameter: constraint"
MARKED = {
    "pages": (
        "img_mixer guidance_scale: maximum 20",
        "img_mixer init_image: format uri",
        "img_mixer prompt: required",
        "img_mixer (body): type object",
        "magic_mix_v5 samples: maximum 4",
    ),
    "inferred": (
        "img_mixer prompt: minLength 1",
        "img_mixer width: minimum 1",
        "img_mixer init_image: minItems 1",
        "magic_mix_enterprise width: maximum 1024",
        "magic_mix_enterprise kmin: minimum 0",
        "magic_mix_v5 kmax,steps: rule layout-phase-runs",
    ),
    "vendor-openapi": ("fetch_v6 key: required",),
}


def _parts(key: str) -> tuple[str, str, str]:
    """("img_mixer", "width", "minimum 1") from "img_mixer width: minimum 1"."""
    parts = re.fullmatch(r"(\S+) (\S+): (\S.*)", key)
    if parts is None:
        raise ValueError(f"{key!r} is not 'operation parameter: constraint'")
    operation, parameter, constraint = parts.groups()
    return operation, parameter, constraint


CASES = [(*_parts(key), source) for source, keys in MARKED.items() for key in keys]


@pytest.mark.parametrize(
    ("operation", "parameter", "constraint", "source"), CASES, ids=["-".join(case) for case in CASES]
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
