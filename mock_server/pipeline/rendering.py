"""Stage 6: the reply on the wire — the vendor's envelope, with the mock's diagnostics in headers."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from starlette.responses import Response

from mock_server.pipeline.negotiation import Outcome
from mock_server.pipeline.quirks import Quirk, apply_quirks, escape_slashes
from mock_server.pipeline.validation import ResponseDraft
from mock_server.pipeline.violations import Violation
from mock_server.problems import Problem, problem_response
from openapi.operations import Operation

__all__ = ["EXAMPLE_HEADER", "REQUEST_VIOLATIONS_HEADER", "VIOLATIONS_HEADER", "header_text", "render"]

VIOLATIONS_HEADER = "X-Mixmock-Violations"
REQUEST_VIOLATIONS_HEADER = "X-Mixmock-Request-Violations"
EXAMPLE_HEADER = "X-Mixmock-Example"
_MAX_HEADER = 4000
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # built once, not per reply
log = logging.getLogger("mixmock.render")


def header_text(violations: Sequence[Violation]) -> str:
    text = json.dumps("; ".join(violation.as_header_item() for violation in violations))[1:-1]
    return text[:_MAX_HEADER]


def render(
    operation: Operation,
    outcome: Outcome,
    draft: ResponseDraft,
    violations: Sequence[Violation],
    *,
    strict: bool,
    quirks: Sequence[Quirk] = (),
) -> Response:
    """The response; in strict mode a self-violation becomes a 500 problem naming it instead."""
    if violations:
        log.warning("%s reply breaks the spec: %s", operation.operation_id, header_text(violations))
        if strict:
            detail = f"the mock's {draft.example} reply to {operation.operation_id} breaks the spec"
            items = [violation.as_header_item() for violation in violations]
            return problem_response(
                Problem(500, "self-violation", "Reply breaks the spec", detail, extra={"violations": items})
            )
    body = apply_quirks(quirks, operation, outcome, draft.example, draft.body)
    encoded = _ENCODER.encode(body).encode()
    if any(quirk.name == "escaped_slashes" for quirk in quirks):
        encoded = escape_slashes(encoded)
    headers = {EXAMPLE_HEADER: draft.example, **draft.headers}
    if violations:
        headers[VIOLATIONS_HEADER] = header_text(violations)
    if outcome.violations:  # the vendor's envelope hides why a body was refused; this header says it
        headers[REQUEST_VIOLATIONS_HEADER] = header_text(outcome.violations)
    return Response(encoded, status_code=draft.status_code, headers=headers, media_type="application/json")
