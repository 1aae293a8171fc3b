"""The proxy as the vendor's webhook receiver: the payload checked against the spec's `webhooks:` branch
its `status` names, recorded, and with `--webhooks relay` forwarded to the client's own URL (only on a
`--webhook-allow-host`). The vendor gets the client's answer when relayed, else `200 {}`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from mock_server.pipeline.intake import parse_body
from mock_server.pipeline.rendering import header_text
from mock_server.pipeline.violations import Violation
from mock_server.problems import Problem
from mock_server.proxy.context import ProxyContext, fill, job_of, violation_headers
from mock_server.proxy.contract import webhook_violations
from mock_server.proxy.forwarding import UpstreamError, relayed
from mock_server.proxy.har import Exchange
from mock_server.proxy.hooks import WEBHOOKS_PATH

__all__ = ["WEBHOOKS_PATH", "receive_webhook"]


async def receive_webhook(context: ProxyContext, request: Request, token: str) -> Response:
    hook = context.hooks.get(token)
    if hook is None:
        raise Problem(404, "no-webhook", "No such webhook", "this webhook token was never handed out")
    if request.method != "POST":
        raise Problem(405, "method-not-allowed", "Method not allowed", "webhooks are POSTed")
    raw, too_big = await context.body(request)
    content_type = request.headers.get("content-type", "")
    payload, problem = (None, too_big) if too_big else parse_body(content_type, raw, context.request_limits)
    operation = hook.operation
    violations = (
        [Violation((), "malformed", problem)]
        if problem is not None
        else webhook_violations(operation, payload)
    )
    if violations:
        context.log.warning("%s webhook breaks the spec: %s", operation.operation_id, header_text(violations))
    exchange = Exchange(
        context.clock(),
        "POST",
        hook.client_url,
        request.headers.items(),
        raw,
        200,
        "OK",
        [("content-type", "application/json")],
        b"{}",
        request_json=payload,
    )
    exchange.notes = {
        "kind": "webhook",
        "spec": operation.spec,
        "operation": operation.operation_id,
        "job_id": job_of(payload.get("id")) if isinstance(payload, dict) else None,
        "request_violations": [violation.as_header_item() for violation in violations],
        "answered_by": "proxy",
    }
    headers = violation_headers(violations, [])
    if context.settings.webhooks == "relay" and too_big is None:
        content = context.through_proxy(raw, payload, hook.origin)
        try:
            upstream = await context.send(
                "webhook",
                "POST",
                hook.client_url,
                [("content-type", content_type)],
                content,
                context.settings.max_reply_bytes,
            )
        except UpstreamError as error:
            context.log.warning("webhook for %s not relayed: %s", operation.operation_id, error)
            exchange.notes["error"] = str(error)
        else:
            exchange.notes["answered_by"] = "client"
            await context.finish(fill(exchange, upstream))
            return relayed(upstream.content, upstream.status, upstream.headers, headers)
    await context.finish(exchange)
    return Response(b"{}", media_type="application/json", headers=headers)
