"""The one place that knows the order of the stages (after Prism's request flow).

    0 parse_prefer(headers)              preferences.py   the client's choices; a bad value is a problem
    1 route(routes, method, path)        routing.py       404 / 405 problems
      read_intake(request)               intake.py        the body, never failing (limits.py)
    2 validate_request(operation, ...)   validation.py    [Violation], data, never raised
    3 negotiate(operation, ...)          negotiation.py   WHERE A REPLY IS CHOSEN: success | processing | ...
    4 generate(runtime, ...)             generation.py    WHERE A REPLY IS BUILT: job, ids, meta, the engine
    5 validate_response(operation, ...)  validation.py    the mock checks its own reply
    6 render(...)                        rendering.py     the vendor's envelope, quirks, diagnostic headers

Around the stages: run-time defaults and fault plans before them; the journal entry, webhook scheduling,
latency and the fault's way of sending the reply after them. With `--replay DIR`, one hook after intake:
a recorded exchange that matches answers instead of stages 2-6 (mock_server/replay/). A store that fails
(a full disk, Redis down) gives the vendor's 503 reply, here and nowhere else (`_store_failed`); a client
that hangs up before its body arrived gets nothing, and the journal says so.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mock_server.pipeline.generation import error_reply, generate
from mock_server.pipeline.intake import Intake, read_intake
from mock_server.pipeline.negotiation import Outcome, Policy, negotiate
from mock_server.pipeline.preferences import Prefer, PreferenceError, Preferences, parse_prefer
from mock_server.pipeline.rendering import render
from mock_server.pipeline.routing import route
from mock_server.pipeline.validation import ResponseDraft, validate_request, validate_response
from mock_server.problems import Problem, problem_response, store_unavailable
from mock_server.runtime import Runtime
from mock_server.services.background import FailureLog
from mock_server.services.faults import FaultPlan, deliver
from mock_server.services.journal import JournalEntry
from mock_server.services.redaction import redact
from mock_server.sessions import key_session, path_prefix, request_session
from mock_server.state.jobs import StoreError, key_digest
from openapi.operations import Operation

__all__ = ["handle"]

log = logging.getLogger("mixmock")
CLIENT_CLOSED = 499  # the journal's status for a request whose client hung up (nginx's convention)
_JOURNAL_FAILURES = FailureLog("journaling requests")


@dataclass
class _Trace:
    """What the journal records about one request, filled in as the stages run."""

    plan: FaultPlan
    route: Operation | None = None  # the operation routed to, once known
    operation: str | None = None
    body: Any = None
    why: str = "default"
    job_id: int | None = None
    example: str | None = None
    status: str | None = None  # the reply's `status`; None for problems
    session: str = ""


def _choice(
    runtime: Runtime, prefer: Prefer, operation: Operation, session: str
) -> tuple[Preferences, Policy, FaultPlan]:
    """The request's Prefer header over its session's run-time defaults, the rules (the session's
    run-time ones, then the file's), and the fault plan drawn from the Prefer header and the defaults.

    Default scenarios apply to create operations only: a fetch answers from the job's state, or
    polling a queued job would never end.
    """
    defaults = runtime.defaults.get(session)
    policy = runtime.policy
    preferences = prefer.reply
    if operation.kind == "create":
        preferences = preferences.over(defaults.parsed.reply)
    rules = runtime.rules.rules(session)
    if rules or defaults.ratios is not None:
        ratios = policy.ratios if defaults.ratios is None else dict(defaults.ratios)
        policy = replace(policy, rules=rules, ratios=ratios)
    return preferences, policy, runtime.faults.plan(prefer.faults.over(defaults.parsed.faults), session)


def _path(request: Request) -> str:
    """`request.url.path` (the same escapes) without building and parsing the whole URL."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def _queue_full(runtime: Runtime, operation: Operation, intake: Intake) -> bool:
    limit = runtime.settings.queue_limit
    if limit is None or operation.kind != "create" or "error_rate_limit" not in operation.examples:
        return False
    digest = key_digest(intake.body.get("key"), runtime.key_secret, intake.session)
    return runtime.store.pending_count(digest, runtime.clock.now()) >= limit


def _why(outcome: Outcome, preferences: Preferences, operation: Operation) -> str:
    if outcome.violations:
        return "violations: " + "; ".join(v.as_header_item() for v in outcome.violations[:3])
    if outcome.rule is not None:
        return f"rule: {outcome.rule}"
    if outcome.forced:
        return "prefer" if not preferences.empty else "ratio"
    return "job state" if operation.kind == "fetch" else "default"


async def _stages(runtime: Runtime, request: Request, trace: _Trace) -> Response:
    try:
        prefer = parse_prefer(request.headers.getlist("prefer"))  # 0: a bad Prefer value fails first
    except PreferenceError as error:
        await _trace_refused(runtime, request, trace)
        raise error from None
    trace.session = request_session(request.scope, request.headers)  # and then a bad session id
    operation, intake = await _trace_routed(runtime, request, trace)
    if runtime.replay is not None:  # the replay hook: a recorded exchange answers when one matches
        replayed = await runtime.replay.answer(operation, intake)
        if replayed is not None:
            trace.why, trace.job_id, trace.status = replayed.why, replayed.job_id, replayed.status
            return replayed.response
    outcome, draft = await _answer(runtime, operation, intake, prefer, trace)
    return _reply(runtime, trace, operation, outcome, draft)


async def _trace_routed(runtime: Runtime, request: Request, trace: _Trace) -> tuple[Operation, Intake]:
    """Stage 1 and the intake, noted in the trace: the operation, the body and the request's session
    (the key's, when its key names one)."""
    routed = route(runtime.routes, request.method, _path(request))  # 1
    trace.route, trace.operation = routed.operation, routed.operation.operation_id
    intake = _in_session(
        await read_intake(request, routed.path_params, runtime.settings.public_url, runtime.limits), trace
    )
    trace.body = redact(intake.body)
    return routed.operation, intake


async def _trace_refused(runtime: Runtime, request: Request, trace: _Trace) -> None:
    """For a request refused before routing: what the journal can still learn of it (its session, a
    key-prefix one included, its operation and body); a second problem on the way is not the answer."""
    try:
        trace.session = request_session(request.scope, request.headers)
        await _trace_routed(runtime, request, trace)
    except Problem:
        pass


def _in_session(intake: Intake, trace: _Trace) -> Intake:
    """The intake with a session key's prefix cut (before anything reads the key), in the request's
    session, its URLs under the session's path prefix."""
    body, session = key_session(intake.body, trace.session)
    if not session:
        return intake
    trace.session = session
    return replace(intake, body=body, session=session, origin=intake.origin + path_prefix(session))


async def _answer(
    runtime: Runtime, operation: Operation, intake: Intake, prefer: Prefer, trace: _Trace
) -> tuple[Outcome, ResponseDraft]:
    """Stages 2 to 4, the ones that read and write the job store."""
    preferences, policy, plan = _choice(runtime, prefer, operation, intake.session)
    trace.plan = plan
    violations = validate_request(operation, intake, runtime.settings.api_keys)  # 2
    if plan.status_code is not None:  # fault=500/503: the vendor's server error, whatever was sent
        outcome = Outcome("error", f"server_error_{plan.status_code}", plan.status_code, forced=True)
        trace.why = f"fault: {plan.fault} ({plan.reason})"
    elif not violations and _queue_full(runtime, operation, intake):
        outcome = negotiate(operation, intake.body, [], Preferences(example="error_rate_limit"), policy, 0.0)
        trace.why = f"queue limit: {runtime.settings.queue_limit} jobs pending for this key"
    else:
        draw = runtime.rng.random(intake.session)
        outcome = negotiate(operation, intake.body, violations, preferences, policy, draw)  # 3
        trace.why = _why(outcome, preferences, operation)
    draft = await generate(runtime, operation, intake, outcome)  # 4
    if operation.kind == "create" and draft.job is not None and draft.job.webhook:
        runtime.webhooks.schedule(draft.job)
    return outcome, draft


def _reply(
    runtime: Runtime, trace: _Trace, operation: Operation, outcome: Outcome, draft: ResponseDraft
) -> Response:
    """Stages 5 and 6 for a built reply, noted in the trace."""
    _note(trace, draft)
    self_violations = validate_response(operation, draft)  # 5
    return render(
        operation, outcome, draft, self_violations, strict=runtime.settings.strict, quirks=runtime.quirks
    )  # 6


def _store_failed(runtime: Runtime, trace: _Trace, error: StoreError) -> Response:
    """The vendor's 503 reply (a problem where no vendor operation was routed to)."""
    runtime.health.failed(error)  # logged once per outage, not once per request; /ready says it too
    trace.why = f"store unavailable: {error.reason}"
    operation = trace.route
    if operation is None or 503 not in operation.responses:
        return problem_response(store_unavailable(error))
    outcome = Outcome("error", "server_error_503", 503, forced=True)
    return _reply(runtime, trace, operation, outcome, error_reply(operation, outcome))


class _NoReply(Response):
    """Sends nothing: the client hung up before its request arrived, so there is no one to answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


def _note(trace: _Trace, draft: ResponseDraft) -> None:
    trace.example = draft.example
    trace.status = str(draft.body.get("status"))
    if draft.job is not None:
        trace.job_id = draft.job.id


def _record(runtime: Runtime, request: Request, trace: _Trace, response: Response) -> None:
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
        session=trace.session,
    )
    try:
        runtime.journal.append(entry)
    except StoreError as error:  # the journal is for inspection; a full disk must not fail the reply
        _JOURNAL_FAILURES.failed(error)
    except Exception:
        log.exception("could not journal %s %s", request.method, _path(request)[:200])


def _problem(trace: _Trace, problem: Problem) -> Response:
    trace.why = f"problem: {problem.slug}"
    return problem_response(problem)


async def handle(runtime: Runtime, request: Request) -> Response:
    trace = _Trace(FaultPlan())
    try:
        response = await _stages(runtime, request, trace)
    except PreferenceError as error:  # a Prefer value the mock cannot use: the client's problem
        response = _problem(trace, Problem(400, "bad-preference", "Bad preference", str(error)))
    except Problem as problem:
        response = _problem(trace, problem)
    except ClientDisconnect:
        trace.why = "client disconnected before its request body arrived"
        _record(runtime, request, trace, Response(status_code=CLIENT_CLOSED))
        return _NoReply()
    except StoreError as error:
        response = _store_failed(runtime, trace, error)
    except Exception as error:  # a bug in the mock: say so as a problem, never as a vendor reply
        log.exception("internal error on %s %s", request.method, _path(request))
        detail = f"{type(error).__name__}: {error}"
        response = _problem(trace, Problem(500, "internal", "Internal mock error", detail))
        trace.why = f"problem: internal ({type(error).__name__})"
    _record(runtime, request, trace, response)
    if trace.plan.latency_s > 0:
        await asyncio.sleep(trace.plan.latency_s)
    return deliver(response, trace.plan, runtime.settings.slow_body_s)
