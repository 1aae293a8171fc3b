"""Stages 2 and 5: what a request breaks, and what the mock's own reply breaks. Both return data.

A request's violations are bounded: at most MAX_VIOLATIONS are reported (then one saying how many more),
and schema validation of an invalid body looks at the first items of each list only, so a body of
99 000 wrong numbers costs milliseconds and gets a reply of a few kilobytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mock_server.pipeline.intake import Intake
from mock_server.pipeline.violations import Violation, describe_kind, describe_value, from_schema_errors
from mock_server.state.jobs import Job
from openapi.operations import Operation
from openapi.rules import cross_field_violations

__all__ = ["MAX_VIOLATIONS", "ResponseDraft", "key_violation", "validate_request", "validate_response"]

MAX_VIOLATIONS = 20  # reported per request; the rest are counted
_LIST_ITEMS = 64  # items of one list that the schema checks of an invalid body look at


@dataclass
class ResponseDraft:
    """A reply before rendering: the documented body, its HTTP status, the example it follows, and
    the job it created or answers about (so later steps need not read it back)."""

    status_code: int
    body: dict[str, Any]
    example: str
    headers: dict[str, str] = field(default_factory=dict)
    job: Job | None = None


def key_violation(body: Mapping[str, Any], api_keys: frozenset[str]) -> Violation | None:
    """The vendor's key check: a non-empty string, and one of `api_keys` when any are configured.

    The message says what kind of value came, never the value: a key sent in the wrong shape is still
    a credential, and violations go to a header, the journal and the reply.
    """
    key = body.get("key")
    if not isinstance(key, str) or not key.strip():
        received = "none was sent" if "key" not in body else f"received {describe_kind(key)}"
        return Violation(("key",), "api_key", f"The key is missing or empty ({received}).")
    if api_keys and key not in api_keys:
        return Violation(("key",), "api_key", "The key is not one of the configured API keys.")
    return None


def _rule_violations(operation: Operation, body: Mapping[str, Any]) -> list[Violation]:
    found = []
    for rule in cross_field_violations(operation.request_schema, body):
        defaults = operation.request_schema.get("properties", {})
        values = ", ".join(
            f"{name}={describe_value(body.get(name, defaults.get(name, {}).get('default')))}"
            for name in rule.fields
        )
        found.append(
            Violation(rule.fields[:1], rule.rule_id, f"{rule.message.rstrip('.')} (received {values}).")
        )
    return found


def validate_request(operation: Operation, intake: Intake, api_keys: frozenset[str]) -> list[Violation]:
    """Every violation of the request, in a stable order: malformed body, key, schema, cross-field rules."""
    if intake.problem is not None:
        return [Violation((), "malformed", intake.problem)]
    body: Mapping[str, Any] = intake.body
    found: list[Violation] = []
    bad_key = key_violation(body, api_keys)
    if bad_key is not None:
        found.append(bad_key)
    if not operation.request_validator.is_valid(body):  # the validator lists every error it finds
        errors = operation.request_validator.iter_errors(_first_items(body))
        schema_errors = [
            violation
            for violation in from_schema_errors(errors)
            if violation.path[:1] != ("key",)  # the key check above words these the vendor's way
        ]
        found.extend(schema_errors)
    found.extend(_rule_violations(operation, body))
    return _capped(found)


def _first_items(value: Any) -> Any:
    """`value` with each list cut to its first items plus one (a maxItems below that still fails)."""
    if isinstance(value, list):
        return [_first_items(item) for item in value[: _LIST_ITEMS + 1]]
    if isinstance(value, dict):
        return {name: _first_items(item) for name, item in value.items()}
    return value


def _capped(violations: list[Violation]) -> list[Violation]:
    if len(violations) <= MAX_VIOLATIONS:
        return violations
    more = len(violations) - MAX_VIOLATIONS
    note = Violation((), "more", f"{more} more violations are not listed.")
    return [*violations[:MAX_VIOLATIONS], note]


def validate_response(operation: Operation, draft: ResponseDraft) -> list[Violation]:
    """What the draft breaks in the spec: the branch its `status` selects, or the whole declared schema."""
    branches = operation.branch_validators.get(draft.status_code)
    if branches is None:
        declared = ", ".join(str(code) for code in sorted(operation.responses))
        return [Violation((), "status", f"HTTP {draft.status_code} is not declared (declared: {declared})")]
    validator = branches.get(str(draft.body.get("status")), operation.response_validators[draft.status_code])
    return [
        Violation(tuple(error.instance_path), error.kind.name, str(error.message))
        for error in validator.iter_errors(draft.body)
    ]
