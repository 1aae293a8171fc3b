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


MAGIC_MIX_PARAMS = {
    "key",
    "prompt",
    "negative_prompt",
    "image",
    "width",
    "height",
    "kmin",
    "kmax",
    "mix_factor",
    "steps",
    "samples",
    "seed",
    "webhook",
    "track_id",
}
IMG_MIXER_PARAMS = {
    "key",
    "prompt",
    "negative_prompt",
    "init_image",
    "width",
    "height",
    "steps",
    "guidance_scale",
    "seed",
    "samples",
    "webhook",
    "track_id",
}


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


# (spec, parameter, keyword, value): every range the pages state, plus the inferred ones that
# openapi/README.md lists with their reasons.
RANGES = [
    ("v6", "steps", "minimum", 1),
    ("v6", "steps", "maximum", 50),
    ("v6", "guidance_scale", "minimum", 1),
    ("v6", "guidance_scale", "maximum", 20),
    ("v6", "width", "minimum", 1),
    ("v6", "width", "maximum", 1024),
    ("v6", "height", "minimum", 1),
    ("v6", "height", "maximum", 1024),
    ("v6", "samples", "minimum", 1),
    ("v6", "samples", "maximum", 1),
    ("v6", "init_image", "minItems", 1),
    ("v6", "init_image", "maxItems", 4),
    ("v6", "prompt", "minLength", 1),
    *[
        (spec, param, keyword, value)
        for spec, samples_max in (("v1-enterprise", 1), ("v5", 4))
        for param, keyword, value in (
            ("steps", "minimum", 1),
            ("steps", "maximum", 50),
            ("width", "minimum", 1),
            ("width", "maximum", 1024),
            ("height", "minimum", 1),
            ("height", "maximum", 1024),
            ("samples", "minimum", 1),
            ("samples", "maximum", samples_max),
            ("kmin", "minimum", 0),
            ("kmin", "maximum", 1),
            ("kmax", "minimum", 0),
            ("kmax", "maximum", 1),
            ("mix_factor", "minimum", 0),
            ("mix_factor", "maximum", 1),
            ("prompt", "minLength", 1),
        )
    ],
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


DEFAULTS = [
    ("v6", "steps", 20),
    ("v6", "guidance_scale", 7.5),
    ("v6", "samples", 1),
    *[
        (spec, param, value)
        for spec in ("v1-enterprise", "v5")
        for param, value in (
            ("width", 768),
            ("height", 768),
            ("kmin", 0.3),
            ("kmax", 0.5),
            ("mix_factor", 0.5),
            ("steps", 20),
            ("samples", 1),
        )
    ],
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


@pytest.mark.parametrize(
    ("spec_name", "param", "types"),
    [
        ("v6", "track_id", ["integer", "null"]),
        ("v1-enterprise", "track_id", ["string", "null"]),
        ("v5", "track_id", ["string", "null"]),
        ("v6", "webhook", ["string", "null"]),
        ("v5", "webhook", ["string", "null"]),
        ("v6", "seed", ["integer", "null"]),
        ("v1-enterprise", "seed", ["integer", "null"]),
        ("v6", "init_image", "array"),
        ("v5", "image", "string"),
    ],
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
