"""HAR 1.2 as a JSON Schema: the required members and their types, from the format's specification
(W3C Web Performance WG draft "HTTP Archive (HAR) format", version 1.2). Custom `_name` fields are allowed."""

from __future__ import annotations

from typing import Any

import jsonschema

__all__ = ["HAR_SCHEMA", "har_errors"]


def _object(optional: tuple[str, ...] = (), **members: str | dict[str, Any]) -> dict[str, Any]:
    """An object with `members`, each required unless `optional` (the format marks them "[optional]").
    A member given as a type name ("string") has that type and nothing more."""
    if not set(optional) <= set(members):
        raise ValueError(f"optional members {sorted(set(optional) - set(members))} are not members")
    return {
        "type": "object",
        "required": [name for name in members if name not in optional],
        "properties": {
            name: {"type": kind} if isinstance(kind, str) else kind for name, kind in members.items()
        },
    }


_PAIRS = {"type": "array", "items": _object(name="string", value="string")}
_CONTENT = _object(
    ("compression", "text", "encoding"),
    size="integer",
    compression="integer",
    mimeType="string",
    text="string",
    encoding="string",
)
_REQUEST = _object(
    ("postData",),
    method="string",
    url={"type": "string", "format": "uri"},
    httpVersion="string",
    cookies="array",
    headers=_PAIRS,
    queryString=_PAIRS,
    postData=_object(("text", "params"), mimeType="string", text="string", params="array"),
    headersSize="integer",
    bodySize="integer",
)
_RESPONSE = _object(
    status="integer",
    statusText="string",
    httpVersion="string",
    cookies="array",
    headers=_PAIRS,
    content=_CONTENT,
    redirectURL="string",
    headersSize="integer",
    bodySize="integer",
)
_TIMINGS = _object(
    ("blocked", "dns", "connect", "ssl"),
    **{
        name: {"type": "number", "minimum": -1}  # milliseconds; -1 where the phase does not apply
        for name in ("blocked", "dns", "connect", "send", "wait", "receive", "ssl")
    },
)
_ENTRY = _object(
    startedDateTime={"type": "string", "format": "date-time"},
    time={"type": "number", "minimum": 0},
    request=_REQUEST,
    response=_RESPONSE,
    cache="object",
    timings=_TIMINGS,
)
HAR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **_object(
        log=_object(
            ("pages",),
            version={"const": "1.2"},
            creator=_object(name="string", version="string"),
            pages="array",
            entries={"type": "array", "items": _ENTRY},
        )
    ),
}


def har_errors(document: Any) -> list[str]:
    """Every way `document` is not HAR 1.2, as `path: message` lines (empty when it is)."""
    validator = jsonschema.Draft202012Validator(HAR_SCHEMA, format_checker=jsonschema.FormatChecker())
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<document>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]
