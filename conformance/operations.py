"""The audited operations, read from the kit's specs with every `$ref` inlined.

The audit needs, per operation, the request schema (its oracle), the reply branches keyed by the
`status` value they accept, the page example, the link from a create reply to its fetch and the
webhook payload schema. This module is the only one that walks the spec documents.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import openapi

__all__ = ["FetchLink", "Operation", "OperationKind", "load_operations", "resolve_refs"]

OperationKind = Literal["create", "fetch"]


@dataclass(frozen=True)
class FetchLink:
    """The spec's link from a create reply to the fetch operation (`$response.body#/id` -> `{id}`)."""

    operation_id: str
    parameter: str
    pointer: str  # JSON pointer into the create reply's body, e.g. "/id"


@dataclass(frozen=True)
class Operation:
    spec: str
    operation_id: str
    method: str
    path: str  # as in the spec, e.g. "/image_editing/fetch/{id}"
    server_path: str  # e.g. "/api/v6"; kept under whatever origin is audited
    kind: OperationKind
    request_schema: Mapping[str, Any]
    example: Mapping[str, Any]
    branches: Mapping[str, Mapping[str, Any]]  # status value -> the 200 reply branch's schema
    error_schema: Mapping[str, Any] | None  # the body of a REST-style 4xx/5xx reply
    link: FetchLink | None = None
    webhook_branches: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.operation_id

    def url_path(self, path_parameters: Mapping[str, str] | None = None) -> str:
        path = self.path
        for name, value in (path_parameters or {}).items():
            path = path.replace("{" + name + "}", value)
        return self.server_path + path

    @property
    def property_schemas(self) -> Mapping[str, Mapping[str, Any]]:
        properties: Mapping[str, Mapping[str, Any]] = self.request_schema.get("properties", {})
        return properties


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


def _branches(one_of: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    branches: dict[str, Mapping[str, Any]] = {}
    for branch in one_of:
        for status in branch.get("properties", {}).get("status", {}).get("enum", []):
            branches[str(status)] = branch
    return branches


def _link(responses: Mapping[str, Any]) -> FetchLink | None:
    for link in responses.get("200", {}).get("links", {}).values():
        for parameter, expression in link.get("parameters", {}).items():
            pointer = str(expression).removeprefix("$response.body#")
            return FetchLink(str(link["operationId"]), str(parameter), pointer)
    return None


def _error_schema(responses: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for status, response in responses.items():
        if str(status) != "200":
            schema: Mapping[str, Any] = response["content"]["application/json"]["schema"]
            return schema
    return None


def _webhook_branches(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    for webhook in document.get("webhooks", {}).values():
        body = webhook["post"]["requestBody"]["content"]["application/json"]
        return _branches(body["schema"].get("oneOf", [body["schema"]]))
    return {}


def _operation(spec_name: str, path: str, method: str, raw: Mapping[str, Any], document: Any) -> Operation:
    content = raw["requestBody"]["content"]["application/json"]
    examples = content.get("examples", {})
    example = next(iter(examples.values()))["value"] if examples else {}
    responses = raw["responses"]
    one_of = responses["200"]["content"]["application/json"]["schema"].get("oneOf", [])
    link = _link(responses)
    kind: OperationKind = "fetch" if "{" in path else "create"
    return Operation(
        spec=spec_name,
        operation_id=str(raw["operationId"]),
        method=method.upper(),
        path=path,
        server_path=openapi.get_spec(spec_name).server_path,
        kind=kind,
        request_schema=content["schema"],
        example=example,
        branches=_branches(one_of),
        error_schema=_error_schema(responses),
        link=link,
        webhook_branches=_webhook_branches(document) if kind == "create" else {},
    )


def load_operations(spec_names: Iterable[str] | None = None) -> list[Operation]:
    """Every operation of the named specs (all specs when None), in spec order."""
    operations: list[Operation] = []
    for name in spec_names if spec_names is not None else openapi.SPECS:
        document = resolve_refs(openapi.load_spec(name), openapi.load_spec(name))
        for path, item in document.get("paths", {}).items():
            for method, raw in item.items():
                if method.lower() in {"get", "post", "put", "patch", "delete"}:
                    operations.append(_operation(name, path, method, raw, document))
    return operations
