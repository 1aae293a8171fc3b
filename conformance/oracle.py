"""The independent oracle: is the body actually sent in contract, and did the target accept it?

The verdict on a reply never trusts how a case was generated: the body that left the machine is
re-validated (JSON Schema 2020-12 with format checking, plus the spec's cross-field rules), and the
target's answer is read from the vendor's envelope, so HTTP 200 with `status: "error"` is a rejection.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from conformance.cases import KEY_MARKER, MISSING, RawBody, render_value
from openapi.rules import cross_field_violations

__all__ = ["Verdict", "Violation", "request_violations", "schema_errors", "verdict"]

_FORMATS = FormatChecker()


@dataclass(frozen=True)
class Violation:
    """One broken constraint: `guidance_scale` / `maximum 20`."""

    parameter: str
    constraint: str
    value: Any = field(default=MISSING, compare=False)  # the offending value (MISSING: none was sent)
    shown: str = field(default="", compare=False)  # how to show it, where the value alone cannot

    @property
    def sent(self) -> str:
        return self.shown or render_value(self.value)


class Verdict(enum.Enum):
    ACCEPTED = "accepted"  # 2xx with status success or processing
    REJECTED = "rejected"  # 4xx, or status error
    FAILED = "failed"  # status failed: a job-level failure, neither an acceptance nor a rejection
    SERVER_ERROR = "server error"  # 5xx
    UNREADABLE = "unreadable"  # no JSON object with a known status


def _pointer(path: Any) -> str:
    return ".".join(str(part) for part in path) or "(body)"


def _constraint(error: ValidationError) -> str:
    value = error.validator_value
    if error.validator in {"type", "format"}:
        rendered = "|".join(value) if isinstance(value, list) else str(value)
        return f"{error.validator} {rendered}"
    if error.validator == "required":
        return "required"
    return f"{error.validator} {json.dumps(value)}"


def _parameter(error: ValidationError) -> str:
    if error.validator == "required" and isinstance(error.instance, Mapping):
        required: Any = error.validator_value
        missing = [name for name in required if name not in error.instance]
        prefix = _pointer(error.absolute_path)
        name = missing[0] if missing else "?"
        return name if prefix == "(body)" else f"{prefix}.{name}"
    # Keep array items under their array: init_image.2 is reported as init_image.
    parts = [part for part in error.absolute_path if not isinstance(part, int)]
    return _pointer(parts)


def schema_errors(schema: Mapping[str, Any], instance: Any) -> list[Violation]:
    """Every JSON Schema error of `instance`, one per parameter and constraint, in a stable order."""
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    found: dict[tuple[str, str], Violation] = {}
    for error in validator.iter_errors(instance):
        value = MISSING if error.validator == "required" else error.instance
        violation = Violation(_parameter(error), _constraint(error), value)
        found.setdefault((violation.parameter, violation.constraint), violation)
    return sorted(found.values(), key=lambda item: (item.parameter, item.constraint))


def _rule_values(fields: tuple[str, ...], body: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    """`kmax=0.04, steps=20`: each field as sent, or its default where the body leaves it out."""
    properties = schema.get("properties", {})
    parts = []
    for name in fields:
        if name in body:
            parts.append(f"{name}={render_value(body[name])}")
        else:
            parts.append(f"{name}={render_value(properties.get(name, {}).get('default'))} (default)")
    return ", ".join(parts)


def _parsed(body: Any) -> tuple[Any, list[Violation]]:
    """The JSON value a raw body carries, or the violation that makes it no JSON object at all."""
    if not isinstance(body, RawBody):
        return body, []
    media_type = body.content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        shown = body.content_type or "(no content type)"
        return MISSING, [Violation("(body)", "content type application/json", body, shown)]
    try:
        return json.loads(body.text.replace(KEY_MARKER, "")), []
    except (ValueError, RecursionError):
        return MISSING, [
            Violation("(body)", "a JSON body", body, render_value(body.text) if body.text else "(empty)")
        ]


def request_violations(schema: Mapping[str, Any], body: Any, *, key_field: str = "key") -> list[Violation]:
    """What makes `body` out of contract, ignoring the injected credential; empty when it is valid."""
    body, found = _parsed(body)
    if found:
        return found
    if isinstance(body, Mapping):
        body = {name: value for name, value in body.items() if name != key_field}
    without_key = dict(schema)
    without_key["required"] = [name for name in schema.get("required", []) if name != key_field]
    found = schema_errors(without_key, body)
    try:
        rules = cross_field_violations(schema, body)
    except (OverflowError, ValueError):
        # Fuzzed magnitudes (1e300 * 1e300) overflow the rule's product; such values already break
        # the fields' own ranges, which the schema errors above report.
        rules = []
    found.extend(
        Violation(
            ",".join(rule.fields), f"rule {rule.rule_id}", body, _rule_values(rule.fields, body, schema)
        )
        for rule in rules
    )
    return found


def verdict(status_code: int, body: Any) -> Verdict:
    """How the target answered, read from the HTTP status and the vendor's envelope."""
    if status_code >= 500:
        return Verdict.SERVER_ERROR
    if 400 <= status_code < 500:
        return Verdict.REJECTED
    status = body.get("status") if isinstance(body, Mapping) else None
    if status == "error":
        return Verdict.REJECTED
    if status in {"success", "processing"} and 200 <= status_code < 300:
        return Verdict.ACCEPTED
    if status == "failed":
        return Verdict.FAILED
    return Verdict.UNREADABLE
