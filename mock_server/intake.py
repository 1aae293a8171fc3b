"""Reading a request's body and origin, without ever failing: a body that is not a JSON object is data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

__all__ = ["MAX_BODY_BYTES", "Intake", "parse_body", "read_intake"]

MAX_BODY_BYTES = 1 << 20
_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass(frozen=True)
class Intake:
    body: Any  # the parsed JSON object; None when `problem` says why there is none
    problem: str | None  # why the body is not a usable JSON object (the vendor's "Invalid API Request")
    path_params: Mapping[str, str]
    origin: str  # scheme://host[:port] that output and fetch URLs are built on
    headers: Mapping[str, str]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e400 is valid JSON syntax but no finite number; validators cannot compare it, so it is refused here.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def parse_body(content_type: str, raw: bytes) -> tuple[Any, str | None]:
    """(object, None), or (None, why the body is unusable)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return None, f"content type {content_type or '(none)'!r} is not application/json"
    if not raw.strip():
        return None, "the body is empty"
    if len(raw) > MAX_BODY_BYTES:
        return None, f"the body is larger than {MAX_BODY_BYTES} bytes"
    try:
        body = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        return None, "the body is not UTF-8 text"
    except RecursionError:
        return None, "the JSON nests too deeply"
    except ValueError as error:
        return None, f"the body is not valid JSON ({error})"
    if not isinstance(body, dict):
        return None, f"the body is a JSON {_JSON_TYPES.get(type(body), 'value')}, not an object"
    return body, None


def origin_of(request: Request, public_url: str | None) -> str:
    if public_url:
        return public_url.rstrip("/")
    host = request.headers.get("host")
    if not host:
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{request.url.scheme}://{host}"


async def read_intake(request: Request, path_params: Mapping[str, str], public_url: str | None) -> Intake:
    raw = await request.body()
    body, problem = parse_body(request.headers.get("content-type", ""), raw)
    return Intake(body, problem, path_params, origin_of(request, public_url), request.headers)
