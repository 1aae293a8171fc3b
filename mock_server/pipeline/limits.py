"""Guards against hostile request bodies, so no body can make the mock answer 500 or stall a worker.

Each guard returns why a body is unusable (a sentence naming the value) instead of raising: the caller
turns that into the vendor's "Invalid API Request" reply like any other malformed body.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BodyLimits", "declared_length_problem", "decode_json", "read_limited", "value_problem"]

MAX_INT_DIGITS = 1000


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int = 1 << 20  # the body itself, counted while it streams in
    max_depth: int = 32  # nested objects and arrays; real bodies nest two levels
    max_nodes: int = 100_000  # values in the whole document

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_nodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"BodyLimits.{name} must be at least 1, got {getattr(self, name)!r}")


class _RejectedError(ValueError):
    """Raised inside the JSON decoder's hooks; never leaves this module."""


def declared_length_problem(headers: Mapping[str, str], limits: BodyLimits) -> str | None:
    """A Content-Length over the limit, refused before a byte of the body is read."""
    declared = headers.get("content-length")
    if declared is None or not declared.strip().isdigit():
        return None
    if int(declared) > limits.max_bytes:
        return f"the body is larger than {limits.max_bytes} bytes (Content-Length: {int(declared)})"
    return None


async def read_limited(chunks: AsyncIterable[bytes], limits: BodyLimits) -> tuple[bytes, str | None]:
    """The body, or (what was read, why it is refused) as soon as it passes the size limit."""
    received = bytearray()
    async for chunk in chunks:
        received += chunk
        if len(received) > limits.max_bytes:
            return bytes(received[: limits.max_bytes]), f"the body is larger than {limits.max_bytes} bytes"
    return bytes(received), None


def _constant(name: str) -> Any:
    raise _RejectedError(f"{name} is not valid JSON")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RejectedError(f"the number {text[:40]} is out of range")
    return value


def _int(text: str) -> int:
    # Python refuses to parse integers past 4300 digits; stop well before, with a reason. Big but sane
    # integers pass, so that validation can answer "steps must not be greater than 50" with the value.
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _RejectedError(f"the number {text[:40]}... ({len(text)} digits) is out of range")
    return int(text)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def value_problem(value: Any, limits: BodyLimits) -> str | None:
    """Why a decoded JSON value is unsafe (too deep, too many values, unpaired surrogates), or None.

    Walks iteratively: a recursive walk is itself what deep nesting attacks.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            return f"the JSON holds more than {limits.max_nodes} values"
        if isinstance(node, dict):
            if depth > limits.max_depth:
                return f"the JSON nests deeper than {limits.max_depth} levels"
            for key, item in node.items():
                if _has_lone_surrogate(key):
                    return f"the key {key!r} holds an unpaired UTF-16 surrogate"
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            if depth > limits.max_depth:
                return f"the JSON nests deeper than {limits.max_depth} levels"
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str) and _has_lone_surrogate(node):
            return f"the string {node[:40]!r} holds an unpaired UTF-16 surrogate"
    return None


def _cannot_break_limits(raw: bytes, encoding: str, limits: BodyLimits) -> bool:
    """True when `value_problem` must pass whatever `raw` decodes to, so the walk can be skipped.

    ASCII read as UTF-8 without a `\\u` escape holds no surrogate; every value but the first of a
    container follows a comma, and every container opens with a bracket (strings may hold more of
    either: the count only errs upwards); every level of nesting takes an opening bracket.
    """
    if encoding != "utf-8" or not raw.isascii() or b"\\u" in raw:
        return False
    containers = raw.count(b"[") + raw.count(b"{")
    return containers <= limits.max_depth and raw.count(b",") + containers + 1 <= limits.max_nodes


# Built once: json.loads with hooks would build a new decoder for every body. A body without a run of
# more than MAX_INT_DIGITS digits holds no integer that long, so it skips the per-integer hook (a
# 99 000-number list would otherwise call it 99 000 times).
_DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_float, parse_int=_int)
_SHORT_DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_float)
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (MAX_INT_DIGITS + 1))


def decode_json(raw: bytes, limits: BodyLimits) -> tuple[Any, str | None]:
    """(value, None) for a safe JSON document, else (None, why not). Never raises."""
    try:
        # What json.loads does with bytes: detect UTF-8/16/32, keep lone surrogates for the walk below.
        encoding = json.detect_encoding(raw)
        long_digits = len(raw) > MAX_INT_DIGITS and _LONG_DIGITS.search(raw) is not None
        decoder = _DECODER if long_digits else _SHORT_DECODER
        value = decoder.decode(raw.decode(encoding, "surrogatepass"))
    except _RejectedError as rejected:
        return None, str(rejected)
    except UnicodeDecodeError:
        return None, "the body is not UTF-8 text"
    except RecursionError:
        return None, f"the JSON nests deeper than {limits.max_depth} levels"
    except ValueError as error:
        return None, f"the body is not valid JSON ({error})"
    if _cannot_break_limits(raw, encoding, limits):
        return value, None
    problem = value_problem(value, limits)
    return (None, problem) if problem is not None else (value, None)
