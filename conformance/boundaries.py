"""The ranges tier: boundary cases derived from the request schema, table-driven and deterministic.

For each property of a create operation, every limit is probed on both sides: the bound itself (must
be accepted) and just outside it by a small step, half a unit and a whole unit (must be rejected);
each declared type against a fraction, an integral float (880.0 is an integer in JSON Schema), a
numeric string, a boolean and null; every item of an array, not only the first; each required field
left out; enum and format violations; and the spec's cross-field rules. Each case changes one property
of the page example, so a finding names exactly one parameter and one constraint. What every target
must tolerate, and bodies that are no JSON object, are in conformance.tolerance.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from conformance.cases import MISSING, WRONG_KEY, Case
from conformance.tolerance import tolerance_cases
from openapi.operations import Operation
from openapi.rules import cross_field_violations

__all__ = ["base_body", "ranges_cases", "types_of"]

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
_OUTSIDE = (0.01, 0.5, 1)  # how far outside a bound: a small step, half a unit, a whole unit


def types_of(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _type_label(schema: Mapping[str, Any]) -> str:
    return f"type {'|'.join(types_of(schema))}"


def _numeric(schema: Mapping[str, Any], _: Any) -> Iterator[Variant]:
    for keyword, sign in (("minimum", -1), ("maximum", 1)):
        if keyword in schema:
            bound = schema[keyword]
            label = f"{keyword} {json.dumps(bound)}"
            yield label, bound
            for step in _OUTSIDE:
                yield label, _tidy(bound + sign * step)


def _tidy(value: float) -> float | int:
    """0.99 rather than 0.9899999999999999; whole numbers as integers."""
    rounded = round(value, 6)
    return int(rounded) if float(rounded).is_integer() else rounded


def _in_range(schema: Mapping[str, Any], base: Any) -> int:
    """An integer inside the schema's bounds, other than the page's value where the bounds allow.

    Smaller first: against a real engine a smaller size or fewer steps is a cheaper job.
    """
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(base, int) and not isinstance(base, bool):
        start = base
    else:
        start = schema.get("default", low if low is not None else 0)
    for candidate in (start - 80, start + 80, low, high):
        inside = (
            candidate is not None
            and (low is None or candidate >= low)
            and (high is None or candidate <= high)
        )
        if inside and candidate is not None and candidate != base:
            return int(candidate)
    return int(start)


def _types(schema: Mapping[str, Any], base: Any) -> Iterator[Variant]:
    """Values of the wrong JSON type, and the integral float that JSON Schema counts as an integer."""
    declared, label = types_of(schema), _type_label(schema)
    allowed = set(declared) | ({"number"} if "integer" in declared else set())
    if "integer" in declared:
        whole = _in_range(schema, base)
        yield label, whole + 0.5  # a fraction
        yield label, float(whole)  # 880.0: an integer, to be accepted
        yield label, str(whole)  # "880": Laravel's `integer` rule accepts it; the spec does not
        yield label, True
    elif "number" in declared:
        yield label, str(base if isinstance(base, int | float) else schema.get("default", 1))
        yield label, True
    else:
        for name in declared:
            value = _WRONG_TYPE_VALUES.get(name)
            if value is not None and _json_type(value) not in allowed:
                yield label, value
                break
    if "null" not in declared:
        yield label, None


def _json_type(value: Any) -> str:
    names = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}
    return names.get(type(value), "null")


def _lengths(schema: Mapping[str, Any], _: Any) -> Iterator[Variant]:
    for keyword, delta in (("minLength", -1), ("maxLength", 1)):
        if keyword in schema:
            bound = int(schema[keyword])
            yield f"{keyword} {bound}", "a" * bound
            if bound + delta >= 0:
                yield f"{keyword} {bound}", "a" * (bound + delta)


def _items(schema: Mapping[str, Any], example: Any) -> Iterator[Variant]:
    """Item counts on and past each limit; a bad item after a good one (every item is checked)."""
    pool = list(example) if isinstance(example, list) and example else ["https://example.com/image.png"]
    for keyword, delta in (("minItems", -1), ("maxItems", 1)):
        if keyword in schema:
            bound = int(schema[keyword])
            for count in (bound, bound + delta):
                if count >= 0:
                    yield f"{keyword} {bound}", [pool[index % len(pool)] for index in range(count)]
    items = schema.get("items", {})
    if items.get("format") in _INVALID_FORMATS:
        yield f"format {items['format']}", [pool[0], _INVALID_FORMATS[items["format"]]]
    wrong = _WRONG_TYPE_VALUES.get(next(iter(types_of(items)), ""), None)
    if "type" in items and wrong is not None:
        yield _type_label(items), [pool[0], wrong]


def _format(schema: Mapping[str, Any], _: Any) -> Iterator[Variant]:
    declared = str(schema.get("format"))
    if declared in _INVALID_FORMATS and "string" in types_of(schema):
        yield f"format {declared}", _INVALID_FORMATS[declared]


def _enum(schema: Mapping[str, Any], _: Any) -> Iterator[Variant]:
    if "enum" in schema:
        yield f"enum {json.dumps(schema['enum'])}", "not-in-enum"


_VARIANTS: tuple[Callable[[Mapping[str, Any], Any], Iterator[Variant]], ...] = (
    _numeric,
    _lengths,
    _items,
    _types,
    _format,
    _enum,
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
        for value in (exact, exact - 0.01):
            body = {**base, varied: round(value, 6)}
            yield Case(operation, "ranges", f"{varied},{other}", f"rule {rule['id']}", body[varied], body)


def _property_cases(operation: Operation, base: Mapping[str, Any], required: list[str]) -> Iterator[Case]:
    for name, schema in operation.property_schemas.items():
        if name == "key":
            continue
        if name in required:
            without = {key: value for key, value in base.items() if key != name}
            yield Case(operation, "ranges", name, "required", MISSING, without)
        for variant in _VARIANTS:
            for constraint, value in variant(schema, base.get(name)):
                body = _repair(operation, {**base, name: value}, name)
                yield Case(operation, "ranges", name, constraint, value, body)


def ranges_cases(operation: Operation) -> list[Case]:
    """Every boundary case of a create operation, in a stable order (fetch operations have none)."""
    if operation.kind != "create":
        return []
    base = base_body(operation)
    cases = [Case(operation, "ranges", "(body)", "page example", base, base)]
    required = [name for name in operation.request_schema.get("required", []) if name != "key"]
    only_required = {name: base[name] for name in required if name in base}
    cases.append(Case(operation, "ranges", "(body)", "only required fields", only_required, only_required))
    cases.extend(_property_cases(operation, base, required))
    cases.extend(_rule_cases(operation, base))
    cases.extend(tolerance_cases(operation, base))
    cases.append(Case(operation, "ranges", "key", "valid key", "(a wrong key)", base, key_override=WRONG_KEY))
    cases.append(Case(operation, "ranges", "key", "required", MISSING, base, omit_key=True))
    return cases
