"""A spec route through the proxy: both sides checked, the vendor's words when the proxy answers itself.

1. read the body (capped) and check the request against the spec;
2. a body over the cap, or with `--block-invalid` a request that breaks the spec: the vendor's error
   envelope, and no call; a create past `--budget`: a 429 problem, and no call;
3. `--webhooks record|relay`: the webhook URL swapped for the proxy's receiver;
4. forward to the target; when it fails (unreachable, too slow, too large): the spec's 503 reply;
5. check the reply against the branch its `status` names; while recording, point `fetch_result` and the
   file URLs at the proxy; record; send the reply with the violations in `X-Mixmock-Request-Violations`
   and `X-Mixmock-Violations` (and the log).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response

from mock_server.pipeline.generation import error_body
from mock_server.pipeline.intake import Intake, origin_of, parse_body
from mock_server.pipeline.negotiation import Outcome, Policy, negotiate
from mock_server.pipeline.preferences import Preferences
from mock_server.pipeline.rendering import header_text, render
from mock_server.pipeline.routing import Routed
from mock_server.pipeline.validation import ResponseDraft
from mock_server.pipeline.violations import Violation
from mock_server.problems import Problem
from mock_server.proxy.context import ProxyContext, fill, job_of, raw_target, violation_headers
from mock_server.proxy.contract import decode_reply, reply_violations, request_violations
from mock_server.proxy.forwarding import Upstream, UpstreamError, relayed
from mock_server.proxy.har import Exchange
from openapi.operations import Operation

__all__ = ["ERROR_HEADER", "through_operation"]

ERROR_HEADER = "X-Mixmock-Proxy-Error"


def _items(violations: Sequence[Violation]) -> list[str]:
    return [violation.as_header_item() for violation in violations]


async def through_operation(context: ProxyContext, request: Request, routed: Routed) -> Response:
    operation, started = routed.operation, context.clock()
    raw, too_big = await context.body(request)
    content_type = request.headers.get("content-type", "")
    body, problem = (None, too_big) if too_big else parse_body(content_type, raw, context.request_limits)
    origin = origin_of(request, context.settings.public_url)
    context.redactor.learn_body(body)
    context.redactor.learn_headers(request.headers.items())
    violations = request_violations(
        operation, Intake(body, problem, routed.path_params, origin, request.headers)
    )
    if violations:
        context.log.warning("%s request breaks the spec: %s", operation.operation_id, header_text(violations))
    url = context.plan.target + raw_target(request)
    exchange = Exchange(
        started, request.method, url, request.headers.items(), raw, 0, "", [], b"", request_json=body
    )
    exchange.notes = {
        "kind": operation.kind,
        "spec": operation.spec,
        "operation": operation.operation_id,
        "job_id": job_of(routed.path_params.get("id")),
        "request_violations": _items(violations),
        "answered_by": "target",
    }
    if too_big is not None or (violations and context.settings.block_invalid):
        outcome = negotiate(operation, body, violations, Preferences(), Policy(), 0.0)
        return await _own_reply(context, exchange, operation, outcome, {})
    if operation.kind == "create":
        _spend(context, operation)
    forwarded = raw
    if context.settings.webhooks != "pass":
        forwarded, token = context.hooks.rewrite(operation, body, raw, origin)
        if token is not None:
            exchange.notes["webhook"] = "received by the proxy"
    try:
        upstream = await context.send(
            "target",
            request.method,
            url,
            request.headers.items(),
            forwarded,
            context.settings.max_reply_bytes,
        )
    except UpstreamError as error:
        context.log.error("%s %s: the target failed: %s", request.method, url, error)
        exchange.notes["error"] = str(error)
        outcome = Outcome("error", "server_error_503", 503, tuple(violations))
        return await _own_reply(context, exchange, operation, outcome, {ERROR_HEADER: str(error)[:500]})
    return await _target_reply(context, exchange, operation, upstream, origin, violations)


def _spend(context: ProxyContext, operation: Operation) -> None:
    """Count a create against `--budget`, or refuse it (a problem of the proxy's: the vendor said nothing)."""
    budget = context.settings.budget
    if budget is not None and context.creates_sent >= budget:
        detail = f"--budget {budget}: {budget} creates were forwarded; this {operation.operation_id} is not"
        raise Problem(429, "budget-spent", "Budget spent", detail)
    context.creates_sent += 1


async def _own_reply(
    context: ProxyContext, exchange: Exchange, operation: Operation, outcome: Outcome, extra: dict[str, str]
) -> Response:
    """The vendor's words without calling it: its error envelope, or the spec's 503 when it failed."""
    draft = ResponseDraft(outcome.status_code, error_body(operation, outcome), outcome.example, extra)
    response = render(operation, outcome, draft, [], strict=False)
    exchange.notes["answered_by"] = "proxy"
    exchange.status, exchange.reason = response.status_code, "Proxy"
    exchange.reply_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
    exchange.reply_body = bytes(response.body)
    await context.finish(exchange)
    return response


async def _target_reply(
    context: ProxyContext,
    exchange: Exchange,
    operation: Operation,
    upstream: Upstream,
    origin: str,
    violations: Sequence[Violation],
) -> Response:
    reply_json, _ = decode_reply(upstream.content_type, upstream.content, context.reply_limits)
    problems = reply_violations(operation, upstream.status, upstream.content_type, upstream.content)
    if problems:
        context.log.warning("%s reply breaks the spec: %s", operation.operation_id, header_text(problems))
    if operation.kind == "create" and isinstance(reply_json, dict):
        exchange.notes["job_id"] = job_of(reply_json.get("id"))
    exchange.notes["reply_violations"] = _items(problems)
    await context.finish(fill(exchange, upstream, reply_json))
    content = context.through_proxy(upstream.content, reply_json, origin)
    return relayed(content, upstream.status, upstream.headers, violation_headers(violations, problems))
