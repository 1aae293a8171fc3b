"""Violations as data: what a request or a reply breaks, worded the way the vendor words errors.

Request violations read like the vendor's Laravel messages ("The steps must not be greater than 50")
and add the value received, so a client's log shows what it sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_MESSAGE", "Violation", "describe_kind", "describe_value", "from_schema_errors"]

MAX_MESSAGE = 300  # characters of one violation's message

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
    "boolean": "true or false",
    "null": "null",
}


@dataclass(frozen=True)
class Violation:
    path: tuple[str | int, ...]  # where in the body; () is the body itself
    keyword: str  # the broken constraint: "maximum", "required", "api_key", "malformed", a rule id...
    message: str  # the sentence and the value received, for people reading a log
    sentence: str = ""  # Laravel's own words alone ("The steps must not be greater than 50."), if any

    @property
    def laravel(self) -> str:
        """What the vendor's Laravel validator says: the bare sentence, else the message."""
        return self.sentence or self.message

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.path)

    def as_header_item(self) -> str:
        return f"{self.field or '<body>'}: {self.keyword}: {self.message}"


def describe_kind(value: Any) -> str:
    """What kind of JSON value `value` is, without showing it ("an array", "an empty string")."""
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "a string"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return {list: "an array", dict: "an object", type(None): "null"}.get(type(value), "a value")


def describe_value(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path).replace("_", " ")


def _types(kind: Any) -> str:
    names = [name for name in kind.types if name != "null"] + (["null"] if "null" in kind.types else [])
    return " or ".join(_TYPE_WORDS.get(name, name) for name in names)


def _sentence(keyword: str, kind: Any, path: tuple[str | int, ...], fallback: str) -> str:
    label = _label(path)
    if keyword == "type":
        return f"The {label} must be {_types(kind)}"
    if keyword in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"}:
        limit = kind.limit
        return {
            "minimum": f"The {label} must be at least {limit}",
            "maximum": f"The {label} must not be greater than {limit}",
            "exclusiveMinimum": f"The {label} must be greater than {limit}",
            "exclusiveMaximum": f"The {label} must be less than {limit}",
            "minItems": f"The {label} must have at least {limit} items",
            "maxItems": f"The {label} must not have more than {limit} items",
        }[keyword]
    if keyword == "minLength":
        return f"The {label} must be at least {kind.limit} characters"
    if keyword == "maxLength":
        return f"The {label} must not be greater than {kind.limit} characters"
    if keyword == "format":
        return (
            f"The {label} must be a valid URL"
            if kind.format == "uri"
            else f"The {label} must be a valid {kind.format}"
        )
    if keyword == "enum":
        return f"The selected {label} is invalid"
    return f"The {label or 'body'} is invalid: {fallback}"


def _empty_where_required(keyword: str, kind: Any, instance: Any) -> bool:
    return keyword in {"minLength", "minItems"} and kind.limit == 1 and instance in ("", [])


def from_schema_errors(errors: Iterable[Any]) -> list[Violation]:
    """Violations from jsonschema_rs validation errors, one per error, in the validator's order."""
    found: list[Violation] = []
    for error in errors:
        kind = error.kind
        keyword: str = kind.name
        path = tuple(error.instance_path)
        if keyword == "required":
            path = (*path, kind.property)
            required = f"The {_label(path)} field is required."
            found.append(Violation(path, keyword, required, required))
            continue
        if _empty_where_required(keyword, kind, error.instance):
            # Laravel's `required` rule fails on "" and [] before any length rule is looked at.
            sentence = f"The {_label(path)} field is required"
        else:
            sentence = _sentence(keyword, kind, path, str(error.message)[:MAX_MESSAGE])
        received = f"{'.'.join(map(str, path))}={describe_value(error.instance)}" if path else "the body"
        message = f"{sentence} (received {received})."
        found.append(Violation(path, keyword, message[:MAX_MESSAGE], f"{sentence}."[:MAX_MESSAGE]))
    return found
