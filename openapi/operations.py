"""The operations of the kit's specs, read once: the one reader that the mock and the audit share.

Each operation comes with every `$ref` inlined: its request schema (defaults, ranges, cross-field
rules), its reply schemas per HTTP status and the `oneOf` branches keyed by the `status` value they
accept, its named reply examples, the page's example request, the link from a create reply to its
fetch, and the webhook payload branches. Compiled validators are built on first use and kept.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from openapi import SPECS, get_spec, load_spec
from openapi.vocabulary import PRODUCTS, OperationKind, Product

__all__ = ["FetchLink", "Operation", "load_operations", "resolve_refs"]

_METHODS = frozenset({"get", "post", "put", "patch", "delete"})
Validator = Any  # a compiled jsonschema_rs validator (the package ships no type stubs)


@dataclass(frozen=True)
class FetchLink:
    """The spec's link from a create reply to the fetch operation (`$response.body#/id` -> `{id}`)."""

    operation_id: str
    parameter: str
    pointer: str  # JSON pointer into the create reply's body, e.g. "/id"


@dataclass(frozen=True)
class Operation:
    spec: str  # spec name: "v6", "v1-enterprise", "v5"
    operation_id: str
    method: str
    path: str  # as in the spec, e.g. "/image_editing/fetch/{id}"
    server_path: str  # the spec server's path, e.g. "/api/v6"; kept under any origin
    kind: OperationKind
    product: Product | None  # what a create operation makes; None for fetch
    request_schema: Mapping[str, Any]
    request_example: Mapping[str, Any]  # the page's example body (the first named request example)
    responses: Mapping[int, Mapping[str, Any]]  # HTTP status -> the whole reply schema
    branches: Mapping[int, Mapping[str, Mapping[str, Any]]]  # HTTP status -> `status` value -> branch
    examples: Mapping[str, Any]  # the 200 reply's named examples (values)
    status_examples: Mapping[int, Any] = field(default_factory=dict)  # other statuses: their first example
    link: FetchLink | None = None
    fetch_path: str | None = None  # create operations: the full path of the fetch their link names
    webhook_branches: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def full_path(self) -> str:
        """The path under the origin, e.g. /api/v6/image_editing/fetch/{id}."""
        return self.server_path + self.path

    def url_path(self, path_parameters: Mapping[str, str] | None = None) -> str:
        path = self.full_path
        for name, value in (path_parameters or {}).items():
            path = path.replace("{" + name + "}", value)
        return path

    @property
    def property_schemas(self) -> Mapping[str, Mapping[str, Any]]:
        properties: Mapping[str, Mapping[str, Any]] = self.request_schema.get("properties", {})
        return properties

    @functools.cached_property
    def defaults(self) -> Mapping[str, Any]:
        """Request field -> the spec's default, for the fields that declare one."""
        return {
            name: schema["default"] for name, schema in self.property_schemas.items() if "default" in schema
        }

    @functools.cached_property
    def integer_fields(self) -> frozenset[str]:
        """The request fields whose declared type includes integer."""

        def types(schema: Mapping[str, Any]) -> list[Any]:
            declared = schema.get("type")
            return declared if isinstance(declared, list) else [declared]

        return frozenset(name for name, schema in self.property_schemas.items() if "integer" in types(schema))

    @property
    def reply_branches(self) -> Mapping[str, Mapping[str, Any]]:
        """The HTTP 200 reply's branches by `status` value (the vendor answers everything with 200)."""
        return self.branches.get(200, {})

    @property
    def error_schema(self) -> Mapping[str, Any] | None:
        """The body of a REST-style 4xx/5xx reply, when the operation declares one."""
        return next((schema for code, schema in self.responses.items() if code != 200), None)

    def reply_example(self, name: str) -> dict[str, Any]:
        """A fresh copy of a named 200 reply example's value."""
        value: dict[str, Any] = copy.deepcopy(self.examples[name])
        return value

    @functools.cached_property
    def request_validator(self) -> Validator:
        return _compile(self.request_schema)

    @functools.cached_property
    def response_validators(self) -> Mapping[int, Validator]:
        return {code: _compile(schema) for code, schema in self.responses.items()}

    @functools.cached_property
    def branch_validators(self) -> Mapping[int, Mapping[str, Validator]]:
        return {
            code: {status: _compile(branch) for status, branch in branches.items()}
            for code, branches in self.branches.items()
        }


def _compile(schema: Mapping[str, Any]) -> Validator:
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return jsonschema_rs.validator_for(root, validate_formats=True)


def resolve_refs(node: Any, document: Mapping[str, Any]) -> Any:
    """A deep copy of `node` with every local `$ref` replaced by what it points to."""
    if isinstance(node, Mapping):
        if "$ref" in node:
            target: Any = document
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            resolved = resolve_refs(target, document)
            return {**resolved, **resolve_refs(siblings, document)} if siblings else resolved
        return {key: resolve_refs(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_refs(item, document) for item in node]
    return copy.deepcopy(node)


def _branches(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The `oneOf` branches (or the schema itself) keyed by each value of their `status` enum."""
    branches: dict[str, Mapping[str, Any]] = {}
    for branch in schema.get("oneOf", [schema]):
        for status in branch.get("properties", {}).get("status", {}).get("enum", []):
            branches[str(status)] = branch
    return branches


def _link(responses: Mapping[str, Any]) -> FetchLink | None:
    for link in responses.get("200", {}).get("links", {}).values():
        for parameter, expression in link.get("parameters", {}).items():
            pointer = str(expression).removeprefix("$response.body#")
            return FetchLink(str(link["operationId"]), str(parameter), pointer)
    return None


def _webhook_branches(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    for webhook in document.get("webhooks", {}).values():
        return _branches(webhook["post"]["requestBody"]["content"]["application/json"]["schema"])
    return {}


def _status_examples(responses: Mapping[str, Any]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for code, reply in responses.items():
        examples = reply["content"]["application/json"].get("examples", {})
        if code != "200" and examples:
            found[int(code)] = next(iter(examples.values()))["value"]
    return found


def _path_of(document: Mapping[str, Any], operation_id: str) -> str | None:
    for path, methods in document["paths"].items():
        for raw in methods.values():
            if isinstance(raw, Mapping) and raw.get("operationId") == operation_id:
                return str(path)
    return None


def _product(path: str) -> Product | None:
    return next((product for product in PRODUCTS if path.endswith("/" + product)), None)


def _operation(spec_name: str, path: str, method: str, raw: Mapping[str, Any], document: Any) -> Operation:
    content = raw["requestBody"]["content"]["application/json"]
    request_examples = content.get("examples", {})
    responses = {
        int(code): reply["content"]["application/json"]["schema"] for code, reply in raw["responses"].items()
    }
    ok = raw["responses"]["200"]
    link = _link(raw["responses"])
    server_path = get_spec(spec_name).server_path
    linked = None if link is None else _path_of(document, link.operation_id)
    kind: OperationKind = "fetch" if "{" in path else "create"
    return Operation(
        spec=spec_name,
        operation_id=str(raw["operationId"]),
        method=method.upper(),
        path=path,
        server_path=server_path,
        kind=kind,
        product=_product(path) if kind == "create" else None,
        request_schema=content["schema"],
        request_example=next(iter(request_examples.values()))["value"] if request_examples else {},
        responses=responses,
        branches={code: _branches(schema) for code, schema in responses.items()},
        examples={
            name: ex["value"] for name, ex in ok["content"]["application/json"].get("examples", {}).items()
        },
        status_examples=_status_examples(raw["responses"]),
        link=link,
        fetch_path=None if linked is None else server_path + linked,
        webhook_branches=_webhook_branches(document) if kind == "create" else {},
    )


@functools.cache
def _spec_operations(spec_name: str) -> tuple[Operation, ...]:
    raw = load_spec(spec_name)
    document = resolve_refs(raw, raw)
    return tuple(
        _operation(spec_name, path, method, operation, document)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method.lower() in _METHODS
    )


def load_operations(spec_names: Iterable[str] | None = None) -> list[Operation]:
    """Every operation of the named specs (all specs when None), in spec order. Read once per process."""
    names = list(spec_names) if spec_names is not None else list(SPECS)
    return [operation for name in names for operation in _spec_operations(name)]
