"""HAR 1.2 as a JSON Schema: the required members and their types, from the format's specification
(W3C Web Performance WG draft "HTTP Archive (HAR) format", version 1.2). Custom `_name` fields are allowed."""

from __future__ import annotations

from typing import Any

import jsonschema

__all__ = ["HAR_SCHEMA", "har_errors"]

_PAIRS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "value"],
        "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
    },
}
_CONTENT = {
    "type": "object",
    "required": ["size", "mimeType"],
    "properties": {
        "size": {"type": "integer"},
        "compression": {"type": "integer"},
        "mimeType": {"type": "string"},
        "text": {"type": "string"},
        "encoding": {"type": "string"},
    },
}
_REQUEST = {
    "type": "object",
    "required": [
        "method",
        "url",
        "httpVersion",
        "cookies",
        "headers",
        "queryString",
        "headersSize",
        "bodySize",
    ],
    "properties": {
        "method": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "httpVersion": {"type": "string"},
        "cookies": {"type": "array"},
        "headers": _PAIRS,
        "queryString": _PAIRS,
        "postData": {
            "type": "object",
            "required": ["mimeType"],
            "properties": {
                "mimeType": {"type": "string"},
                "text": {"type": "string"},
                "params": {"type": "array"},
            },
        },
        "headersSize": {"type": "integer"},
        "bodySize": {"type": "integer"},
    },
}
_RESPONSE = {
    "type": "object",
    "required": [
        "status",
        "statusText",
        "httpVersion",
        "cookies",
        "headers",
        "content",
        "redirectURL",
        "headersSize",
        "bodySize",
    ],
    "properties": {
        "status": {"type": "integer"},
        "statusText": {"type": "string"},
        "httpVersion": {"type": "string"},
        "cookies": {"type": "array"},
        "headers": _PAIRS,
        "content": _CONTENT,
        "redirectURL": {"type": "string"},
        "headersSize": {"type": "integer"},
        "bodySize": {"type": "integer"},
    },
}
_TIMINGS = {
    "type": "object",
    "required": ["send", "wait", "receive"],
    "properties": {
        name: {"type": "number", "minimum": -1}
        for name in ("blocked", "dns", "connect", "send", "wait", "receive", "ssl")
    },
}
HAR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["log"],
    "properties": {
        "log": {
            "type": "object",
            "required": ["version", "creator", "entries"],
            "properties": {
                "version": {"const": "1.2"},
                "creator": {
                    "type": "object",
                    "required": ["name", "version"],
                    "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                },
                "pages": {"type": "array"},
                "entries": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                        "properties": {
                            "startedDateTime": {"type": "string", "format": "date-time"},
                            "time": {"type": "number", "minimum": 0},
                            "request": _REQUEST,
                            "response": _RESPONSE,
                            "cache": {"type": "object"},
                            "timings": _TIMINGS,
                        },
                    },
                },
            },
        }
    },
}


def har_errors(document: Any) -> list[str]:
    """Every way `document` is not HAR 1.2, as `path: message` lines (empty when it is)."""
    validator = jsonschema.Draft202012Validator(HAR_SCHEMA, format_checker=jsonschema.FormatChecker())
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<document>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]
