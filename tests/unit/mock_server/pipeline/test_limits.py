"""Hostile bodies: each is refused with a sentence naming the problem, never an exception."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from mock_server.pipeline.limits import (
    BodyLimits,
    declared_length_problem,
    decode_json,
    read_limited,
    value_problem,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

LIMITS = BodyLimits(max_bytes=1000, max_depth=8, max_nodes=500)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b'{"steps": NaN}', "NaN is not valid JSON", id="nan"),
        pytest.param(b'{"steps": -Infinity}', "-Infinity is not valid JSON", id="minus-infinity"),
        pytest.param(b'{"steps": 1e400}', "the number 1e400 is out of range", id="float-overflow"),
        pytest.param(b'{"seed": ' + b"9" * 1001 + b"}", "(1001 digits) is out of range", id="1001-digit-int"),
        pytest.param(b'{"seed": ' + b"9" * 5000 + b"}", "is out of range", id="4000-digit-int"),
        pytest.param(b'{"prompt": "caf\xe9"}', "the body is not UTF-8 text", id="invalid-utf8"),
        pytest.param(b'{"prompt": "\\ud800"}', "unpaired UTF-16 surrogate", id="lone-surrogate"),
        pytest.param(b'{"\\udfff": 1}', "unpaired UTF-16 surrogate", id="lone-surrogate-key"),
        pytest.param(nested(9), "nests deeper than 8 levels", id="too-deep"),
        pytest.param(nested(100_000), "nests deeper than 8 levels", id="recursion-limit"),
        pytest.param(b"[" + b"0," * 600 + b"0]", "more than 500 values", id="too-many-values"),
        pytest.param(b'{"prompt": ', "the body is not valid JSON", id="truncated"),
    ],
)
def test_hostile_json_is_refused_with_a_reason(raw: bytes, expected: str) -> None:
    value, problem = decode_json(raw, LIMITS)
    assert value is None
    assert problem is not None
    assert expected in problem


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"prompt": "rose man", "steps": 41, "seed": 10**30}, id="big-int-left-to-validation"),
        pytest.param({"prompt": "🌹 man", "guidance_scale": 7.5}, id="emoji-and-float"),
        pytest.param({"init_image": ["https://a"] * 100}, id="long-list"),
        pytest.param({"a": {"b": {"c": [1, [2, [3]]]}}}, id="moderate-nesting"),
    ],
)
def test_ordinary_json_passes_unchanged(body: dict[str, object]) -> None:
    assert decode_json(json.dumps(body).encode(), LIMITS) == (body, None)


def test_depth_counts_containers_not_scalars() -> None:
    assert value_problem([[[[[[[[1]]]]]]]], LIMITS) is None
    assert value_problem([[[[[[[[[1]]]]]]]]], LIMITS) == "the JSON nests deeper than 8 levels"


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_read_limited_stops_once_the_limit_is_passed() -> None:
    read = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(100):
            read += 1
            yield b"x" * 300

    raw, problem = asyncio.run(read_limited(counted(), LIMITS))
    assert problem == "the body is larger than 1000 bytes"
    assert len(raw) == 1000
    assert read == 4  # the rest of the stream was never pulled


def test_read_limited_returns_a_body_within_the_limit() -> None:
    assert asyncio.run(read_limited(chunks(b'{"a"', b": 1}"), LIMITS)) == (b'{"a": 1}', None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            {"content-length": "1001"}, "the body is larger than 1000 bytes (Content-Length: 1001)", id="over"
        ),
        pytest.param({"content-length": "1000"}, None, id="at-limit"),
        pytest.param({"content-length": "junk"}, None, id="unparsable-left-to-the-stream"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_declared_length(headers: dict[str, str], expected: str | None) -> None:
    assert declared_length_problem(headers, LIMITS) == expected


@pytest.mark.parametrize("name", ["max_bytes", "max_depth", "max_nodes"])
def test_limits_must_be_positive(name: str) -> None:
    with pytest.raises(ValueError, match=f"BodyLimits.{name} must be at least 1, got 0"):
        BodyLimits(**{name: 0})


def test_a_long_integer_after_many_short_ones_is_still_refused() -> None:
    limits = BodyLimits(max_bytes=1 << 20, max_nodes=100_000)
    raw = b'{"init_image": [' + b"0, " * 90_000 + b"0], " + b'"seed": ' + b"7" * 1500 + b"}"
    value, problem = decode_json(raw, limits)
    assert value is None
    assert problem is not None
    assert "(1500 digits) is out of range" in problem


def test_a_list_of_many_short_numbers_within_the_limits_is_decoded() -> None:
    limits = BodyLimits(max_bytes=1 << 20, max_nodes=100_000)
    value, problem = decode_json(json.dumps({"init_image": [0] * 99_000}).encode(), limits)
    assert problem is None
    assert len(value["init_image"]) == 99_000
    _, too_many = decode_json(json.dumps({"init_image": [0] * 100_001}).encode(), limits)
    assert too_many == "the JSON holds more than 100000 values"
