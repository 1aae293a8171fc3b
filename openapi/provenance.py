"""Where each constraint of the specs comes from, as their `x-provenance` annotations say.

A request property schema (and its `items`) maps each constraint keyword it carries to a source:
`x-provenance: {type: pages, minimum: inferred}`. A request body or reply branch maps each field of
its `required` list to a source: `x-provenance: {required: {key: pages, prompt: pages}}`. A cross-field
rule carries `provenance: <source>`. The sources: the vendor's pages (`pages`), the vendor's OpenAPI
file (`vendor-openapi`), or the kit's own inference (`inferred`, listed in openapi/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

__all__ = [
    "CONSTRAINT_KEYWORDS",
    "SOURCES",
    "Source",
    "provenance",
    "required_provenance",
    "rule_provenance",
]

Source = Literal["pages", "vendor-openapi", "inferred"]
SOURCES: tuple[Source, ...] = get_args(Source)

# The keywords that constrain a value; each one a property schema carries has an x-provenance entry.
CONSTRAINT_KEYWORDS = frozenset(
    {
        "type",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "format",
        "enum",
        "pattern",
        "default",
    }
)


def _source(value: Any, where: str) -> Source | None:
    if value is None:
        return None
    for source in SOURCES:
        if value == source:
            return source
    raise ValueError(f"{where}: {value!r} is not a source (one of {', '.join(SOURCES)})")


def _annotations(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    found = schema.get("x-provenance", {})
    if not isinstance(found, Mapping):
        raise ValueError(f"x-provenance must be a mapping, not {found!r}")
    return found


def provenance(schema: Mapping[str, Any], keyword: str) -> Source | None:
    """The source of `keyword`'s constraint in `schema`; None when the schema lacks it or does not say."""
    if keyword == "required":
        raise ValueError("`required` has a source per field: use required_provenance()")
    if keyword not in schema:
        return None
    return _source(_annotations(schema).get(keyword), f"x-provenance of {keyword!r}")


def required_provenance(schema: Mapping[str, Any], field: str) -> Source | None:
    """The source that makes `field` required in `schema`; None when it is not required or does not say."""
    if field not in schema.get("required", []):
        return None
    fields = _annotations(schema).get("required", {})
    if not isinstance(fields, Mapping):
        raise ValueError(f"x-provenance.required must map each required field to a source, not {fields!r}")
    return _source(fields.get(field), f"x-provenance of required field {field!r}")


def rule_provenance(rule: Mapping[str, Any]) -> Source | None:
    """The source of one `x-cross-field-rules` item; None when it does not say."""
    return _source(rule.get("provenance"), f"provenance of rule {rule.get('id')!r}")
