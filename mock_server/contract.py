"""The operations the mock serves, read from the kit's specs once and compiled for the hot path.

Routes are each spec's server path plus its paths; nothing here is a hand-written route table except
`ALIASES`, the vendor's documented legacy generic fetch, which no spec of ours declares.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema_rs

from mock_server.engines.base import OperationKind
from openapi import SPECS, get_spec, load_spec

__all__ = ["ALIASES", "Operation", "load_operations"]

# Extra paths served by an existing operation: (path under the origin, spec name, operationId).
ALIASES: Sequence[tuple[str, str, str]] = (("/api/v3/fetch/{id}", "v5", "fetch_v5"),)

_PRODUCTS: Mapping[str, OperationKind] = {"magic_mix": "magic_mix", "img_mixer": "img_mixer"}

Validator = Any  # a compiled jsonschema_rs validator (the package ships no type stubs)


@dataclass(frozen=True)
class Operation:
    spec: str  # spec name: "v6", "v1-enterprise", "v5"
    operation_id: str
    method: str
    path: str  # the full path template under the origin, e.g. /api/v6/image_editing/fetch/{id}
    pattern: re.Pattern[str]
    kind: Literal["create", "fetch"]
    product: OperationKind | None  # what a create operation makes; None for fetch
    request_schema: Mapping[str, Any]  # the resolved request body schema (defaults, x-cross-field-rules)
    request_validator: Validator
    responses: Mapping[int, Validator]  # HTTP status -> validator of the whole body
    branches: Mapping[int, Mapping[str, Validator]]  # HTTP status -> body status value -> branch validator
    examples: Mapping[str, Any]  # the 200 reply's named examples (values)
    fetch_path: str | None  # create operations: the fetch operation its `links` point at
    defaults: Mapping[str, Any]  # request field -> the spec's default, for fields that declare one

    def example(self, name: str) -> dict[str, Any]:
        """A fresh copy of a named example's value."""
        value: dict[str, Any] = copy.deepcopy(self.examples[name])
        return value


def _resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(document, target)


def _compile(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Validator:
    # Local refs (#/components/...) resolve against a root that carries the document's components.
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": document["components"]}
    return jsonschema_rs.validator_for({**root, **schema}, validate_formats=True)


def _pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{regex}$")


def _branches(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Validator]:
    """One validator per `oneOf` branch, keyed by the value of the branch's `status` enum."""
    found: dict[str, Validator] = {}
    for branch in schema.get("oneOf", [schema]):
        resolved = _resolve(document, branch)
        for status in resolved.get("properties", {}).get("status", {}).get("enum", []):
            found[status] = _compile(document, branch)
    return found


def _operation(
    spec_name: str,
    document: Mapping[str, Any],
    path: str,
    method: str,
    raw: Mapping[str, Any],
    full_path: str,
) -> Operation:
    body = raw["requestBody"]["content"]["application/json"]
    request_schema = _resolve(document, body["schema"])
    responses: dict[int, Validator] = {}
    branches: dict[int, dict[str, Validator]] = {}
    for code, response in raw["responses"].items():
        schema = response["content"]["application/json"]["schema"]
        responses[int(code)] = _compile(document, schema)
        branches[int(code)] = _branches(document, _resolve(document, schema))
    ok = raw["responses"]["200"]
    examples = {
        name: ex["value"] for name, ex in ok["content"]["application/json"].get("examples", {}).items()
    }
    operation_id: str = raw["operationId"]
    product = next((kind for suffix, kind in _PRODUCTS.items() if path.endswith("/" + suffix)), None)
    fetch_path = None
    for link in ok.get("links", {}).values():
        fetch_path = _path_of(document, link["operationId"])
    return Operation(
        spec=spec_name,
        operation_id=operation_id,
        method=method.upper(),
        path=full_path,
        pattern=_pattern(full_path),
        kind="fetch" if "{id}" in path else "create",
        product=product,
        request_schema=request_schema,
        request_validator=_compile(document, body["schema"]),
        responses=responses,
        branches=branches,
        examples=examples,
        fetch_path=None if fetch_path is None else get_spec(spec_name).server_path + fetch_path,
        defaults={
            name: schema["default"]
            for name, schema in request_schema.get("properties", {}).items()
            if "default" in schema
        },
    )


def _path_of(document: Mapping[str, Any], operation_id: str) -> str | None:
    for path, methods in document["paths"].items():
        for raw in methods.values():
            if isinstance(raw, Mapping) and raw.get("operationId") == operation_id:
                return str(path)
    return None


def load_operations(spec_names: Sequence[str] | None = None) -> list[Operation]:
    """Every operation of the named specs (all by default), plus the aliases."""
    operations: list[Operation] = []
    by_id: dict[tuple[str, str], tuple[dict[str, Any], str, str, dict[str, Any]]] = {}
    for name in spec_names or list(SPECS):
        document = load_spec(name)
        prefix = get_spec(name).server_path
        for path, methods in document["paths"].items():
            for method, raw in methods.items():
                if method.lower() not in {"get", "post", "put", "patch", "delete"}:
                    continue
                operations.append(_operation(name, document, path, method, raw, prefix + path))
                by_id[(name, raw["operationId"])] = (document, path, method, raw)
    for alias_path, spec_name, operation_id in ALIASES:
        if (spec_name, operation_id) in by_id:
            document, path, method, raw = by_id[(spec_name, operation_id)]
            operations.append(_operation(spec_name, document, path, method, raw, alias_path))
    return operations
