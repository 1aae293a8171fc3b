"""The ranges tier: boundary cases derived from the request schema, table-driven and deterministic.

For each property of a create operation, every documented limit is probed on both sides: the bound
itself (must be accepted) and just outside it (must be rejected), plus a wrong type, each required
field left out, enum and format violations, and the spec's cross-field rules. Each case changes one
property of the page example, so a finding names exactly one parameter and one constraint.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from conformance.cases import MISSING, WRONG_KEY, Case
from openapi.operations import Operation
from openapi.rules import cross_field_violations

__all__ = ["base_body", "ranges_cases"]

Variant = tuple[str, Any]  # (constraint, value)
_WRONG_TYPE_VALUES: Mapping[str, Any] = {
    "string": 12345,
    "integer": "not-a-number",
    "number": "not-a-number",
    "array": "not-an-array",
    "object": "not-an-object",
    "boolean": "not-a-boolean",
}
_INVALID_FORMATS: Mapping[str, str] = {"uri": "not a uri", "email": "not an email", "uuid": "not-a-uuid"}


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _number(value: float, integer: bool) -> float | int:
    return int(value) if integer else round(value, 6)


def _step(schema: Mapping[str, Any]) -> float:
    """How far outside a bound "just outside" is: 1 for integers and wide ranges, 0.01 for narrow ones."""
    if "integer" in _types(schema):
        return 1
    low, high = schema.get("minimum"), schema.get("maximum")
    narrow = low is not None and high is not None and high - low < 2
    return 0.01 if narrow else 1


def _numeric(schema: Mapping[str, Any]) -> Iterator[Variant]:
    integer, step = "integer" in _types(schema), _step(schema)
    for keyword, sign in (("minimum", -1), ("maximum", 1)):
        if keyword in schema:
            bound = schema[keyword]
            yield f"{keyword} {json.dumps(bound)}", bound
            yield f"{keyword} {json.dumps(bound)}", _number(bound + sign * step, integer)


def _lengths(schema: Mapping[str, Any]) -> Iterator[Variant]:
    for keyword, delta in (("minLength", -1), ("maxLength", 1)):
        if keyword in schema:
            bound = int(schema[keyword])
            yield f"{keyword} {bound}", "a" * bound
            if bound + delta >= 0:
                yield f"{keyword} {bound}", "a" * (bound + delta)


def _items(schema: Mapping[str, Any], example: Any) -> Iterator[Variant]:
    pool = list(example) if isinstance(example, list) and example else ["https://example.com/image.png"]
    for keyword, delta in (("minItems", -1), ("maxItems", 1)):
        if keyword in schema:
            bound = int(schema[keyword])
            for count in (bound, bound + delta):
                if count >= 0:
                    yield f"{keyword} {bound}", [pool[index % len(pool)] for index in range(count)]
    item_format = schema.get("items", {}).get("format")
    if item_format in _INVALID_FORMATS:
        yield f"format {item_format}", [_INVALID_FORMATS[item_format]]


def _wrong_type(schema: Mapping[str, Any]) -> Iterator[Variant]:
    allowed = set(_types(schema))
    if "integer" in allowed:
        allowed.add("number")
    for declared in _types(schema):
        value = _WRONG_TYPE_VALUES.get(declared)
        if value is not None and _json_type(value) not in allowed:
            yield f"type {'|'.join(_types(schema))}", value
            return


def _json_type(value: Any) -> str:
    names = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}
    return names.get(type(value), "null")


def _format(schema: Mapping[str, Any]) -> Iterator[Variant]:
    declared = str(schema.get("format"))
    if declared in _INVALID_FORMATS and "string" in _types(schema):
        yield f"format {declared}", _INVALID_FORMATS[declared]


def _enum(schema: Mapping[str, Any]) -> Iterator[Variant]:
    if "enum" in schema:
        yield f"enum {json.dumps(schema['enum'])}", "not-in-enum"


_VARIANTS: tuple[Callable[[Mapping[str, Any], Any], Iterator[Variant]], ...] = (
    lambda schema, _: _numeric(schema),
    lambda schema, _: _lengths(schema),
    _items,
    lambda schema, _: _wrong_type(schema),
    lambda schema, _: _format(schema),
    lambda schema, _: _enum(schema),
)


def base_body(operation: Operation) -> dict[str, Any]:
    """The page example without its key: the valid body every boundary case varies."""
    return {name: value for name, value in operation.request_example.items() if name != "key"}


def _repair(operation: Operation, body: dict[str, Any], changed: str) -> dict[str, Any]:
    """Keep a bound-value case valid where a cross-field rule allows it (steps=1 needs kmax=1)."""
    schema = operation.request_schema
    for rule in cross_field_violations(schema, body):
        if changed in rule.fields:
            for other in rule.fields:
                maximum = operation.property_schemas.get(other, {}).get("maximum")
                if other != changed and maximum is not None:
                    body[other] = maximum
    return body


def _rule_cases(operation: Operation, base: Mapping[str, Any]) -> Iterator[Case]:
    schema, properties = operation.request_schema, operation.property_schemas
    for rule in schema.get("x-cross-field-rules", []):
        spec = rule.get("floor-product-at-least")
        if not spec or len(spec["fields"]) != 2:
            continue
        varied, other = spec["fields"]
        other_value = base.get(other, properties.get(other, {}).get("default"))
        if not isinstance(other_value, int | float) or other_value == 0:
            continue
        exact = spec["minimum"] / other_value
        for value in (exact, exact - _step(properties.get(varied, {}))):
            body = {**base, varied: round(value, 6)}
            yield Case(operation, "ranges", f"{varied},{other}", f"rule {rule['id']}", body[varied], body)


def ranges_cases(operation: Operation) -> list[Case]:
    """Every boundary case of a create operation, in a stable order (fetch operations have none)."""
    if operation.kind != "create":
        return []
    base = base_body(operation)
    cases = [Case(operation, "ranges", "(body)", "page example", base, base)]
    required = [name for name in operation.request_schema.get("required", []) if name != "key"]
    only_required = {name: base[name] for name in required if name in base}
    cases.append(Case(operation, "ranges", "(body)", "only required fields", only_required, only_required))
    for name, schema in operation.property_schemas.items():
        if name == "key":
            continue
        if name in required:
            without = {key: value for key, value in base.items() if key != name}
            cases.append(Case(operation, "ranges", name, "required", MISSING, without))
        for variant in _VARIANTS:
            for constraint, value in variant(schema, base.get(name)):
                body = _repair(operation, {**base, name: value}, name)
                cases.append(Case(operation, "ranges", name, constraint, value, body))
    cases.extend(_rule_cases(operation, base))
    cases.append(Case(operation, "ranges", "key", "valid key", "(a wrong key)", base, key_override=WRONG_KEY))
    cases.append(Case(operation, "ranges", "key", "required", MISSING, base, omit_key=True))
    return cases
