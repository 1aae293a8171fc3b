"""Both sides of an exchange checked against the spec: the request, the reply, the webhook payload.

The checks are the mock's own (`validate_request`, `validate_response`), run on what really went
through; they return violations and never stop an exchange (`--block-invalid` decides that).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from mock_server.pipeline.intake import Intake
from mock_server.pipeline.limits import BodyLimits, decode_json
from mock_server.pipeline.validation import ResponseDraft, validate_request, validate_response
from mock_server.pipeline.violations import Violation
from openapi.operations import Operation, load_operations

__all__ = [
    "decode_reply",
    "operation_named",
    "reply_violations",
    "request_violations",
    "undeclared",
    "webhook_validator",
    "webhook_violations",
]


def request_violations(operation: Operation, intake: Intake) -> list[Violation]:
    """What the request breaks; any non-empty key passes (the target knows which keys are good)."""
    return validate_request(operation, intake, frozenset())


def decode_reply(content_type: str, content: bytes, limits: BodyLimits) -> tuple[Any, str | None]:
    """(JSON value, None), or (None, why the reply is not one): wrong content type, bad or hostile JSON."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return None, f"content type {content_type or '(none)'!r} is not application/json"
    return decode_json(content, limits)


def reply_violations(operation: Operation, status: int, content_type: str, content: bytes) -> list[Violation]:
    """What the target's reply breaks: the branch its `status` names, under the HTTP status it came with."""
    body, problem = decode_reply(content_type, content, BodyLimits(max_bytes=max(len(content), 1)))
    if problem is not None:
        return [Violation((), "malformed", f"the reply is not a JSON object: {problem}")]
    if not isinstance(body, dict):
        return [Violation((), "type", f"the reply is a JSON {type(body).__name__}, not an object")]
    branches = operation.branches.get(status, {})
    if branches and str(body.get("status")) not in branches:
        allowed = "|".join(branches)
        return [Violation(("status",), "enum", f"status {body.get('status')!r} is none of {allowed}")]
    return [
        *validate_response(operation, ResponseDraft(status, body, example="")),
        *undeclared(operation, body),
    ]


def undeclared(operation: Operation, body: Mapping[str, Any]) -> list[Violation]:
    """Top-level fields the branch does not declare (`messege`, `tip_1`): allowed, but not the contract."""
    branch = operation.reply_branches.get(str(body.get("status")))
    if branch is None:
        return []
    declared = branch.get("properties", {})
    return [
        Violation((name,), "undeclared", f"{body['status']} replies declare no {name!r} field")
        for name in body
        if name not in declared
    ]


@functools.cache
def webhook_validator(spec: str, operation_id: str, status: str) -> Any:
    branch = operation_named(spec, operation_id).webhook_branches[status]
    return jsonschema_rs.validator_for(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", **branch}, validate_formats=True
    )


def webhook_violations(operation: Operation, payload: Any) -> list[Violation]:
    """What a webhook payload breaks: the spec's `webhooks:` branch its `status` names."""
    if not isinstance(payload, Mapping):
        return [Violation((), "type", "the webhook payload is not a JSON object")]
    status = payload.get("status")
    if not isinstance(status, str) or status not in operation.webhook_branches:
        allowed = ", ".join(operation.webhook_branches) or "(none declared)"
        return [Violation(("status",), "enum", f"status {status!r} is not one of {allowed}")]
    validator = webhook_validator(operation.spec, operation.operation_id, status)
    return [
        Violation(tuple(error.instance_path), error.kind.name, str(error.message))
        for error in validator.iter_errors(payload)
    ]


@functools.cache
def operation_named(spec: str, operation_id: str) -> Operation:
    """The operation of a spec by its operationId; KeyError naming both when there is none."""
    for operation in load_operations([spec]):
        if operation.operation_id == operation_id:
            return operation
    raise KeyError(f"{spec} declares no operation {operation_id!r}")
