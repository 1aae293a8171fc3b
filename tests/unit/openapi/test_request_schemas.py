"""The request schemas carry every parameter, default and range the vendor's pages state."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from openapi import load_spec
from tests.unit.openapi.schemas import CREATE_OPERATIONS, SPEC_NAMES, errors

pytestmark = pytest.mark.unit


def request_schema(spec_name: str) -> dict[str, Any]:
    name = CREATE_OPERATIONS[spec_name][2]
    schema: dict[str, Any] = load_spec(spec_name)["components"]["schemas"][name]
    return schema


def page_example(spec_name: str) -> dict[str, Any]:
    path, _, _ = CREATE_OPERATIONS[spec_name]
    content = load_spec(spec_name)["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    example: dict[str, Any] = copy.deepcopy(content["examples"]["page_example"]["value"])
    return example


# Every create body's parameters, then each product's own.
COMMON_PARAMS = {
    "key",
    "prompt",
    "negative_prompt",
    "width",
    "height",
    "steps",
    "samples",
    "seed",
    "webhook",
    "track_id",
}
IMG_MIXER_PARAMS = COMMON_PARAMS | {"init_image", "guidance_scale"}
MAGIC_MIX_PARAMS = COMMON_PARAMS | {"image", "kmin", "kmax", "mix_factor"}


@pytest.mark.parametrize(
    ("spec_name", "params", "required"),
    [
        ("v6", IMG_MIXER_PARAMS, ["key", "prompt", "init_image"]),
        ("v1-enterprise", MAGIC_MIX_PARAMS, ["key", "prompt", "image"]),
        ("v5", MAGIC_MIX_PARAMS, ["key", "prompt", "image"]),
    ],
    ids=SPEC_NAMES,
)
def test_every_page_parameter_is_declared(spec_name: str, params: set[str], required: list[str]) -> None:
    schema = request_schema(spec_name)
    assert set(schema["properties"]) == params
    assert schema["required"] == required
    assert schema["additionalProperties"] is True


# Ranges more than one parameter or spec has.
SIZE = {"minimum": 1, "maximum": 1024}
UNIT = {"minimum": 0, "maximum": 1}
STEPS = {"minimum": 1, "maximum": 50}
PROMPT = {"minLength": 1}


def _magic_mix_ranges(samples_max: int) -> dict[str, dict[str, int]]:
    return {
        "steps": STEPS,
        "width": SIZE,
        "height": SIZE,
        "samples": {"minimum": 1, "maximum": samples_max},
        "kmin": UNIT,
        "kmax": UNIT,
        "mix_factor": UNIT,
        "prompt": PROMPT,
    }


# spec -> parameter -> its range keywords: every range the pages state, plus the inferred ones that
# openapi/README.md lists with their reasons.
RANGES_BY_SPEC = {
    "v6": {
        "steps": STEPS,
        "guidance_scale": {"minimum": 1, "maximum": 20},
        "width": SIZE,
        "height": SIZE,
        "samples": {"minimum": 1, "maximum": 1},
        "init_image": {"minItems": 1, "maxItems": 4},
        "prompt": PROMPT,
    },
    "v1-enterprise": _magic_mix_ranges(1),
    "v5": _magic_mix_ranges(4),
}
RANGES = [
    (spec_name, param, keyword, value)
    for spec_name, ranges in RANGES_BY_SPEC.items()
    for param, bounds in ranges.items()
    for keyword, value in bounds.items()
]
RANGE_IDS = [f"{spec}-{param}-{keyword}-{value}" for spec, param, keyword, value in RANGES]


@pytest.mark.parametrize(("spec_name", "param", "keyword", "value"), RANGES, ids=RANGE_IDS)
def test_range_is_in_the_spec(spec_name: str, param: str, keyword: str, value: int) -> None:
    assert request_schema(spec_name)["properties"][param][keyword] == value


def test_every_range_in_the_spec_is_in_the_table() -> None:
    keywords = {"minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength"}
    in_spec = {
        (spec_name, param, keyword, prop[keyword])
        for spec_name in SPEC_NAMES
        for param, prop in request_schema(spec_name)["properties"].items()
        for keyword in keywords & set(prop)
    }
    assert in_spec == set(RANGES)


def at_bound(spec_name: str, param: str, keyword: str, value: int) -> Any:
    prop = request_schema(spec_name)["properties"][param]
    if keyword in ("minItems", "maxItems"):
        return ["https://example.com/image.png"] * value
    if keyword == "minLength":
        return "x" * value
    return value if prop["type"] == "integer" else float(value)


def just_outside(spec_name: str, param: str, keyword: str, value: int) -> Any:
    prop = request_schema(spec_name)["properties"][param]
    below = keyword.startswith("min")
    if keyword in ("minItems", "maxItems"):
        return ["https://example.com/image.png"] * (value - 1 if below else value + 1)
    if keyword == "minLength":
        return "x" * (value - 1)
    if prop["type"] == "integer":
        return value - 1 if below else value + 1
    return math.nextafter(float(value), -math.inf if below else math.inf)


@pytest.mark.parametrize(("spec_name", "param", "keyword", "value"), RANGES, ids=RANGE_IDS)
def test_the_bound_itself_passes(spec_name: str, param: str, keyword: str, value: int) -> None:
    body = {**page_example(spec_name), param: at_bound(spec_name, param, keyword, value)}
    assert errors(spec_name, CREATE_OPERATIONS[spec_name][2], body) == []


@pytest.mark.parametrize(("spec_name", "param", "keyword", "value"), RANGES, ids=RANGE_IDS)
def test_just_outside_the_bound_fails(spec_name: str, param: str, keyword: str, value: int) -> None:
    sent = just_outside(spec_name, param, keyword, value)
    body = {**page_example(spec_name), param: sent}
    found = errors(spec_name, CREATE_OPERATIONS[spec_name][2], body)
    expected = {
        "maximum": f"greater than the maximum of {value}",
        "minimum": f"less than the minimum of {value}",
        "maxItems": "is too long",
        "minItems": "should be non-empty",
        "minLength": "should be non-empty",
    }[keyword]
    assert len(found) == 1, found
    assert expected in found[0]


# spec -> parameter -> its default on the spec's page
MAGIC_MIX_DEFAULTS = {"width": 768, "height": 768, "kmin": 0.3, "kmax": 0.5, "mix_factor": 0.5}
DEFAULTS_BY_SPEC: dict[str, dict[str, float]] = {
    "v6": {"steps": 20, "guidance_scale": 7.5, "samples": 1},
    "v1-enterprise": {**MAGIC_MIX_DEFAULTS, "steps": 20, "samples": 1},
    "v5": {**MAGIC_MIX_DEFAULTS, "steps": 20, "samples": 1},
}
DEFAULTS = [
    (spec_name, param, value)
    for spec_name, defaults in DEFAULTS_BY_SPEC.items()
    for param, value in defaults.items()
]


@pytest.mark.parametrize(
    ("spec_name", "param", "value"), DEFAULTS, ids=[f"{s}-{p}={v}" for s, p, v in DEFAULTS]
)
def test_default(spec_name: str, param: str, value: float) -> None:
    assert request_schema(spec_name)["properties"][param]["default"] == value


@pytest.mark.parametrize("spec_name", ["v6"])
def test_img_mixer_width_and_height_have_no_default(spec_name: str) -> None:
    # The page: "If not provided, the width of init_image is used".
    properties = request_schema(spec_name)["properties"]
    assert "default" not in properties["width"]
    assert "default" not in properties["height"]


# parameter -> spec -> its type on that spec's page
TYPES: dict[str, dict[str, str | list[str]]] = {
    "track_id": {"v6": ["integer", "null"], "v1-enterprise": ["string", "null"], "v5": ["string", "null"]},
    "webhook": {"v6": ["string", "null"], "v5": ["string", "null"]},
    "seed": {"v6": ["integer", "null"], "v1-enterprise": ["integer", "null"]},
    "init_image": {"v6": "array"},
    "image": {"v5": "string"},
}


@pytest.mark.parametrize(
    ("spec_name", "param", "types"),
    [(spec_name, param, types) for param, by_spec in TYPES.items() for spec_name, types in by_spec.items()],
    ids=lambda value: str(value) if not isinstance(value, list) else "|".join(value),
)
def test_types_follow_each_page(spec_name: str, param: str, types: str | list[str]) -> None:
    assert request_schema(spec_name)["properties"][param]["type"] == types


REQUIRED = [
    (spec_name, field)
    for spec_name, image_field in (("v6", "init_image"), ("v1-enterprise", "image"), ("v5", "image"))
    for field in ("key", "prompt", image_field)
]


@pytest.mark.parametrize(("spec_name", "field"), REQUIRED, ids=[f"{s}-{f}" for s, f in REQUIRED])
def test_missing_required_field_fails(spec_name: str, field: str) -> None:
    body = page_example(spec_name)
    del body[field]
    assert errors(spec_name, CREATE_OPERATIONS[spec_name][2], body) == [f"'{field}' is a required property"]


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_unknown_extra_fields_are_allowed(spec_name: str) -> None:
    # Real clients send them: the unofficial SDK adds init_image_weights, sdk-py adds guidance_scale.
    body = {**page_example(spec_name), "init_image_weights": "0.5,0.7", "guidance_scale": 7.5, "x": {"y": 1}}
    assert errors(spec_name, CREATE_OPERATIONS[spec_name][2], body) == []


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
@pytest.mark.parametrize("field", ["webhook", "track_id", "seed", "negative_prompt"])
def test_explicit_null_is_accepted(spec_name: str, field: str) -> None:
    body = {**page_example(spec_name), field: None}
    assert errors(spec_name, CREATE_OPERATIONS[spec_name][2], body) == []


@pytest.mark.parametrize(
    ("spec_name", "field", "value"),
    [
        ("v6", "init_image", ["not a url"]),
        ("v6", "webhook", "not a url"),
        ("v5", "image", "not a url"),
        ("v1-enterprise", "webhook", "::"),
    ],
)
def test_uri_format_is_checked(spec_name: str, field: str, value: Any) -> None:
    body = {**page_example(spec_name), field: value}
    bad = value[0] if isinstance(value, list) else value
    assert errors(spec_name, CREATE_OPERATIONS[spec_name][2], body) == [f"{bad!r} is not a 'uri'"]
