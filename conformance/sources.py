"""Where a finding's constraint comes from, and whether findings on it fail the run.

Request constraints carry their source in the specs (`x-provenance`, read by openapi.provenance): the
vendor's pages, the vendor's OpenAPI file, or the kit's own inference. Checks on replies, jobs, images
and webhooks name their source where they are made (the pages by default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from openapi.operations import Operation
from openapi.provenance import SOURCES, Source, provenance, required_provenance, rule_provenance

__all__ = ["DOCUMENTED", "FAIL_ON", "fails", "request_source"]

DOCUMENTED: tuple[Source, ...] = ("pages", "vendor-openapi")
# --fail-on: which sources make a finding fail the run. By default only documented ones do: a vendor
# audit must not fail the vendor on the kit's guesses; it reports them so that the guesses improve.
FAIL_ON: Mapping[str, tuple[Source, ...]] = {"documented": DOCUMENTED, "inferred": SOURCES}


def fails(source: Source, fail_on: str) -> bool:
    return source in FAIL_ON[fail_on]


def _rendered(keyword: str, value: Any) -> str:
    if keyword in {"type", "format"}:
        return f"{keyword} {'|'.join(value) if isinstance(value, list) else value}"
    return f"{keyword} {json.dumps(value)}"


def _schema_source(schema: Mapping[str, Any], constraint: str) -> Source | None:
    """The source of `constraint` ("maximum 20", "format uri") in a property schema or its items."""
    keyword = constraint.split(" ")[0]
    candidates = [schema, schema.get("items", {})]
    for candidate in candidates:
        if keyword in candidate and _rendered(keyword, candidate[keyword]) == constraint:
            return provenance(candidate, keyword)
    for candidate in candidates:
        if keyword in candidate:
            return provenance(candidate, keyword)
    return None


def request_source(operation: Operation, parameter: str, constraint: str) -> Source:
    """The source of a request constraint as the spec marks it; the pages where the spec says nothing."""
    schema = operation.request_schema
    found: Source | None = None
    if constraint.startswith("rule "):
        rule_id = constraint.removeprefix("rule ")
        rules: list[Mapping[str, Any]] = schema.get("x-cross-field-rules", [])
        rule: Mapping[str, Any] = next((r for r in rules if r.get("id") == rule_id), {})
        found = rule_provenance(rule)
    elif constraint == "required":
        found = required_provenance(schema, parameter)
    elif parameter in operation.property_schemas:
        found = _schema_source(operation.property_schemas[parameter], constraint)
    return found or "pages"
