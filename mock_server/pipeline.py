"""The one place that knows the order of the stages (after Prism's request flow).

Around the stages: run-time defaults and fault plans before them; the journal entry, webhook scheduling,
latency and the fault's way of sending the reply after them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mock_server.contract import Operation
from mock_server.faults import FaultPlan, deliver, fault_preferences
from mock_server.generation import generate
from mock_server.intake import Intake, read_intake
from mock_server.jobs import key_digest
from mock_server.journal import JournalEntry, redact
from mock_server.negotiation import Outcome, Policy, negotiate
from mock_server.preferences import Preferences, parse_preferences
from mock_server.problems import MockFault, problem_response
from mock_server.rendering import render
from mock_server.routing import route
from mock_server.runtime import Runtime
from mock_server.validation import ResponseDraft, validate_request, validate_response

__all__ = ["handle"]

log = logging.getLogger("mixmock")


@dataclass
class _Trace:
    """What the journal records about one request, filled in as the stages run."""

    plan: FaultPlan
    operation: str | None = None
    body: Any = None
    why: str = "default"
    job_id: int | None = None
    example: str | None = None
    status: str | None = None  # the reply's `status`; None for mock faults


def _choice(
    runtime: Runtime, headers: list[str], preferences: Preferences, operation: Operation
) -> tuple[Preferences, Policy, FaultPlan]:
    """The request's Prefer header over the run-time defaults, and the fault plan drawn from both.

    Default scenarios apply to create operations only: a fetch answers from the job's state, or
    polling a queued job would never end.
    """
    defaults = runtime.overrides.get() if runtime.overrides is not None else None
    policy = runtime.policy
    if defaults is not None and defaults.prefer:
        if operation.kind == "create":
            preferences = preferences.over(parse_preferences([defaults.prefer]))
        headers = [*headers, defaults.prefer]
    if defaults is not None and defaults.ratios is not None:
        policy = replace(policy, ratios=dict(defaults.ratios))
    return preferences, policy, runtime.faults.plan(fault_preferences(headers))


def _path(request: Request) -> str:
    """`request.url.path` (the same escapes) without building and parsing the whole URL."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def _queue_full(runtime: Runtime, operation: Operation, intake: Intake) -> bool:
    limit = runtime.settings.queue_limit
    if limit is None or operation.kind != "create" or "error_rate_limit" not in operation.examples:
        return False
    return runtime.store.pending_count(key_digest(intake.body.get("key")), runtime.clock.now()) >= limit


def _why(outcome: Outcome, preferences: Preferences, operation: Operation) -> str:
    if outcome.violations:
        return "violations: " + "; ".join(v.as_header_item() for v in outcome.violations[:3])
    if outcome.rule is not None:
        return f"rule: {outcome.rule}"
    if outcome.forced:
        return "prefer" if not preferences.empty else "ratio"
    return "job state" if operation.kind == "fetch" else "default"


async def _stages(runtime: Runtime, request: Request, trace: _Trace) -> Response:
    headers = request.headers.getlist("prefer")
    preferences = parse_preferences(headers)  # 0: a bad Prefer value fails before routing
    routed = route(runtime.operations, request.method, _path(request))  # 1
    operation = routed.operation
    preferences, policy, plan = _choice(runtime, headers, preferences, operation)
    trace.plan = plan
    trace.operation = operation.operation_id
    intake = await read_intake(request, routed.path_params, runtime.settings.public_url, runtime.limits)
    trace.body = redact(intake.body)
    violations = validate_request(operation, intake, runtime.settings.api_keys)  # 2
    if plan.status_code is not None:  # fault=500/503: the vendor's server error, whatever was sent
        outcome = Outcome("error", f"server_error_{plan.status_code}", plan.status_code, forced=True)
        trace.why = f"fault: {plan.fault} ({plan.reason})"
    elif not violations and _queue_full(runtime, operation, intake):
        outcome = negotiate(operation, intake.body, [], Preferences(example="error_rate_limit"), policy, 0.0)
        trace.why = f"queue limit: {runtime.settings.queue_limit} jobs pending for this key"
    else:
        draw = runtime.rng.random()
        outcome = negotiate(operation, intake.body, violations, preferences, policy, draw)  # 3
        trace.why = _why(outcome, preferences, operation)
    draft = await generate(runtime, operation, intake, outcome)  # 4
    _note(trace, draft)
    _schedule_webhook(runtime, operation, intake, trace)
    self_violations = validate_response(operation, draft)  # 5
    return render(
        operation, outcome, draft, self_violations, strict=runtime.settings.strict, quirks=runtime.quirks
    )  # 6


def _note(trace: _Trace, draft: ResponseDraft) -> None:
    trace.example = draft.example
    trace.status = str(draft.body.get("status"))
    job_id = draft.body.get("id")
    if isinstance(job_id, int) and not isinstance(job_id, bool):
        trace.job_id = job_id


def _schedule_webhook(runtime: Runtime, operation: Operation, intake: Intake, trace: _Trace) -> None:
    if operation.kind != "create" or trace.job_id is None or runtime.webhooks is None:
        return
    if isinstance(intake.body, dict) and intake.body.get("webhook"):
        job = runtime.store.get(trace.job_id)
        if job is not None:
            runtime.webhooks.schedule(job)


def _record(runtime: Runtime, request: Request, trace: _Trace, response: Response) -> None:
    if runtime.journal is None:
        return
    status = trace.status if response.media_type == "application/json" else None
    entry = JournalEntry(
        at=runtime.clock.now(),
        method=request.method,
        path=_path(request),
        operation=trace.operation,
        body=trace.body,
        http_status=response.status_code,
        status=status,
        example=trace.example if status is not None else None,
        why=trace.why,
        job_id=trace.job_id,
        fault=trace.plan.fault,
    )
    try:
        runtime.journal.append(entry)
    except Exception:  # the journal is for inspection; a full disk must not fail the reply
        log.exception("could not journal %s %s", request.method, _path(request))


async def handle(runtime: Runtime, request: Request) -> Response:
    trace = _Trace(FaultPlan())
    try:
        response = await _stages(runtime, request, trace)
    except MockFault as fault:
        trace.why = f"mock fault: {fault.slug}"
        response = problem_response(fault)
    except Exception as error:  # a bug in the mock: say so as a mock fault, never as a vendor reply
        log.exception("internal error on %s %s", request.method, _path(request))
        trace.why = f"mock fault: internal ({type(error).__name__})"
        response = problem_response(
            MockFault(500, "internal", "Internal mock error", f"{type(error).__name__}: {error}")
        )
    _record(runtime, request, trace, response)
    if trace.plan.latency_s > 0:
        await asyncio.sleep(trace.plan.latency_s)
    return deliver(response, trace.plan, runtime.settings.slow_body_s)
