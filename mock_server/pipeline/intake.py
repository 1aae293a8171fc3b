"""Reading a request's body and origin, without ever failing: a body that is not a JSON object is data."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from mock_server.pipeline.limits import BodyLimits, declared_length_problem, decode_json, read_limited

__all__ = ["MAX_BODY_BYTES", "Intake", "origin_of", "parse_body", "read_intake", "valid_host"]

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
    session: str = ""  # the request's session (mock_server/sessions.py); `origin` then ends in its prefix


def parse_body(content_type: str, raw: bytes, limits: BodyLimits | None = None) -> tuple[Any, str | None]:
    """(object, None), or (None, why the body is unusable); hostile JSON is refused by `limits`."""
    limits = limits or BodyLimits(max_bytes=MAX_BODY_BYTES)
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return None, f"content type {content_type or '(none)'!r} is not application/json"
    if not raw.strip():
        return None, "the body is empty"
    if len(raw) > limits.max_bytes:
        return None, f"the body is larger than {limits.max_bytes} bytes"
    body, problem = decode_json(raw, limits)
    if problem is not None:
        return None, problem
    if not isinstance(body, dict):
        return None, f"the body is a JSON {_JSON_TYPES.get(type(body), 'value')}, not an object"
    return body, None


# RFC 3986 host[:port]: a name (underscores allowed, as container names have them), an IPv4 address,
# or an IPv6 address in brackets.
_HOST = re.compile(
    r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?)"
    r"(?::(?P<port>\d{1,5}))?$"
)


def valid_host(host: str) -> bool:
    """Whether a Host header can stand in an URL as its authority (`a b`, `x/y`, `[::g]` cannot)."""
    found = _HOST.match(host)
    if found is None or (found["port"] is not None and int(found["port"]) > 65535):
        return False
    if found["ipv6"] is not None:
        try:
            ipaddress.IPv6Address(found["ipv6"])
        except ValueError:
            return False
    return True


def origin_of(request: Request, public_url: str | None) -> str:
    """The configured public URL; else the request's Host when it is a valid authority; else the
    address the request arrived at (a client's bad Host never makes an invalid output URL)."""
    if public_url:
        return public_url.rstrip("/")
    scheme = request.scope.get("scheme", "http")  # request.url.scheme, without building the URL
    host = request.headers.get("host")
    if not host or not valid_host(host):
        address, port = request.scope.get("server") or ("127.0.0.1", None)
        port = port or (443 if scheme == "https" else 80)  # a server that names no port (ASGI allows it)
        host = f"[{address}]:{port}" if ":" in str(address) else f"{address}:{port}"
    return f"{scheme}://{host}"


async def read_intake(
    request: Request, path_params: Mapping[str, str], public_url: str | None, limits: BodyLimits | None = None
) -> Intake:
    """The request's body, read no further than the size limit (a huge upload is cut off, not buffered)."""
    limits = limits or BodyLimits(max_bytes=MAX_BODY_BYTES)
    problem = declared_length_problem(request.headers, limits)
    raw = b""
    if problem is None:
        raw, problem = await read_limited(request.stream(), limits)
    if problem is not None:
        return Intake(None, problem, path_params, origin_of(request, public_url), request.headers)
    body, problem = parse_body(request.headers.get("content-type", ""), raw, limits)
    return Intake(body, problem, path_params, origin_of(request, public_url), request.headers)
