"""The one place that knows the order of the stages (after Prism's request flow)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from mock_server.generation import generate
from mock_server.intake import read_intake
from mock_server.negotiation import negotiate
from mock_server.preferences import parse_preferences
from mock_server.problems import MockFault, problem_response
from mock_server.rendering import render
from mock_server.routing import route
from mock_server.runtime import Runtime
from mock_server.validation import validate_request, validate_response

__all__ = ["handle"]

log = logging.getLogger("mixmock")


async def _stages(runtime: Runtime, request: Request) -> Response:
    preferences = parse_preferences(request.headers.getlist("prefer"))  # 0
    routed = route(runtime.operations, request.method, request.url.path)  # 1
    operation = routed.operation
    intake = await read_intake(request, routed.path_params, runtime.settings.public_url)
    violations = validate_request(operation, intake, runtime.settings.api_keys)  # 2
    outcome = negotiate(
        operation, intake.body, violations, preferences, runtime.policy, runtime.rng.random()
    )  # 3
    draft = await generate(runtime, operation, intake, outcome)  # 4
    self_violations = validate_response(operation, draft)  # 5
    return render(
        operation, outcome, draft, self_violations, strict=runtime.settings.strict, quirks=runtime.quirks
    )  # 6


async def handle(runtime: Runtime, request: Request) -> Response:
    try:
        return await _stages(runtime, request)
    except MockFault as fault:
        return problem_response(fault)
    except Exception as error:  # a bug in the mock: say so as a mock fault, never as a vendor reply
        log.exception("internal error on %s %s", request.method, request.url.path)
        return problem_response(
            MockFault(500, "internal", "Internal mock error", f"{type(error).__name__}: {error}")
        )
