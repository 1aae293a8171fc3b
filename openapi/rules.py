"""Cross-field rules a spec declares with `x-cross-field-rules` on a request schema.

JSON Schema cannot say "int(kmax * steps) >= 1"; the spec names such a rule declaratively and this
module evaluates it, so the mock, the reference engine and the audit agree on which bodies break it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RuleViolation", "cross_field_violations"]


@dataclass(frozen=True)
class RuleViolation:
    rule_id: str
    fields: tuple[str, ...]
    message: str


def _value(name: str, body: Mapping[str, Any], properties: Mapping[str, Any]) -> float | None:
    value = body.get(name)
    if value is None:
        value = properties.get(name, {}).get("default")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _floor_product_at_least(
    spec: Mapping[str, Any], body: Mapping[str, Any], properties: Mapping[str, Any]
) -> bool:
    """True when the rule holds or cannot be judged (a field missing or of the wrong type)."""
    product = 1.0
    for name in spec["fields"]:
        value = _value(name, body, properties)
        if value is None:
            return True
        product *= value
    # A small tolerance keeps 0.1 * 10 (= 0.9999999999999999 in binary) on the side a person expects.
    minimum: int = spec["minimum"]
    if not math.isfinite(product):  # huge factors overflow to inf, which floor() cannot take
        return product >= minimum
    return math.floor(product + 1e-9) >= minimum


_KINDS = {"floor-product-at-least": _floor_product_at_least}


def cross_field_violations(schema: Mapping[str, Any], body: Any) -> list[RuleViolation]:
    """The declared rules that `body` breaks; an empty list when it breaks none."""
    if not isinstance(body, Mapping):
        return []
    properties = schema.get("properties", {})
    found: list[RuleViolation] = []
    for rule in schema.get("x-cross-field-rules", []):
        for kind, spec in rule.items():
            check = _KINDS.get(kind)
            if check is not None and not check(spec, body, properties):
                found.append(RuleViolation(rule["id"], tuple(spec["fields"]), rule["message"]))
    return found
