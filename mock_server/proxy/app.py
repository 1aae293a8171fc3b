"""The proxy: between a client and the vendor, each side checked against the spec, everything recorded.

    spec route         read the body (capped) -> check the request -> [--block-invalid: the vendor's
                       error, no call] -> forward to the target -> check the reply against the branch its
                       `status` names -> [recording: fetch_result and file URLs through the proxy]
    /_recorded/...     an output file, downloaded from the target or a --download-host
    /_mixmock/proxy/webhooks/<token>   the vendor's webhook: checked, recorded, relayed when asked
    anything else      passed through to the target untouched

Violations go to the `X-Mixmock-Request-Violations` / `X-Mixmock-Violations` headers and the log. A
target that fails (unreachable, too slow, a reply over the cap) gives the spec's 503 reply, with the reason
in `X-Mixmock-Proxy-Error`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.parsing import HostAllowList
from mock_server.pipeline.generation import error_body
from mock_server.pipeline.intake import Intake, origin_of, parse_body
from mock_server.pipeline.limits import BodyLimits, declared_length_problem, read_limited
from mock_server.pipeline.negotiation import Outcome, Policy, negotiate
from mock_server.pipeline.preferences import Preferences
from mock_server.pipeline.rendering import REQUEST_VIOLATIONS_HEADER, VIOLATIONS_HEADER, header_text, render
from mock_server.pipeline.routing import Routed, route, route_table
from mock_server.pipeline.validation import ResponseDraft
from mock_server.pipeline.violations import Violation
from mock_server.problems import Problem, problem_response
from mock_server.proxy.contract import decode_reply, reply_violations, request_violations, webhook_violations
from mock_server.proxy.forwarding import Deadlines, Door, Forwarder, Upstream, UpstreamError, relayed
from mock_server.proxy.har import Exchange
from mock_server.proxy.receiver import WEBHOOKS_PATH, Hooks
from mock_server.proxy.recorder import Recorder
from mock_server.proxy.redaction import Redactor
from mock_server.proxy.urls import PROXY_PREFIX, RECORDED_PREFIX, UrlPlan, recorded_upstream, rewrite_urls
from mock_server.services.webhooks import WebhookPolicy
from mock_server.settings import ProxySettings, SettingsError
from openapi.operations import Operation

__all__ = ["ERROR_HEADER", "HEALTH_PATH", "Proxy", "create_proxy_app"]

log = logging.getLogger("mixmock.proxy")
ERROR_HEADER = "X-Mixmock-Proxy-Error"
HEALTH_PATH = PROXY_PREFIX + "/health"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _raw_target(request: Request) -> str:
    """The path and query exactly as the client sent them (percent-escapes kept)."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    query: bytes = request.scope.get("query_string", b"")
    return raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


def _violation_headers(request: Sequence[Violation], reply: Sequence[Violation]) -> dict[str, str]:
    headers = {}
    if request:
        headers[REQUEST_VIOLATIONS_HEADER] = header_text(request)
    if reply:
        headers[VIOLATIONS_HEADER] = header_text(reply)
    return headers


class Proxy:
    """What one proxy process holds: the door out, the recorder, the webhook tokens."""

    def __init__(
        self,
        settings: ProxySettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.target is None:
            raise SettingsError("the proxy needs --target (MIXMOCK_PROXY_TARGET), e.g. https://modelslab.com")
        self.settings = settings
        self.routes = route_table()
        self.plan = UrlPlan(
            settings.target.rstrip("/"), HostAllowList.parse(settings.download_hosts, "download host")
        )
        deadlines = Deadlines(settings.connect_timeout_s, settings.read_timeout_s, settings.total_timeout_s)
        policy = WebhookPolicy(allow_hosts=settings.webhook_allow_hosts, timeout_s=settings.read_timeout_s)
        self.forwarder = Forwarder(self.plan, policy, deadlines, client=client, clock=clock)
        self.redactor = Redactor(settings.redact, settings.redact)
        self.hooks = Hooks(clock=clock)
        self.request_limits = BodyLimits(max_bytes=settings.max_body_bytes)
        self.reply_limits = BodyLimits(max_bytes=settings.max_reply_bytes)
        self.recorder = None
        if settings.record is not None:
            notes = {
                "target": self.plan.target,
                "download_hosts": list(settings.download_hosts),
                "redacted": sorted(self.redactor.fields),
                "webhooks": settings.webhooks,
            }
            self.recorder = Recorder(
                Path(settings.record), notes, self.redactor, settings.record_max_bytes, clock()
            )

    async def handle(self, request: Request) -> Response:
        path: str = request.scope["path"]
        try:
            if path == HEALTH_PATH:
                return self._health()
            if path.startswith(WEBHOOKS_PATH + "/"):
                return await self._webhook(request, path[len(WEBHOOKS_PATH) + 1 :])
            if path.startswith(RECORDED_PREFIX + "/"):
                return await self._download(request)
            try:
                routed = route(self.routes, request.method, path)
            except Problem:
                return await self._pass_through(request)
            return await self._operation(request, routed)
        except Problem as problem:
            return problem_response(problem)

    def _health(self) -> Response:
        recording = str(self.recorder.path) if self.recorder is not None else None
        return JSONResponse({"status": "ok", "target": self.plan.target, "recording": recording})

    async def _body(self, request: Request) -> tuple[bytes, str | None]:
        """The body, or why it is not read in full (over `--max-body-bytes`: never forwarded)."""
        too_big = declared_length_problem(request.headers, self.request_limits)
        if too_big is not None:
            return b"", too_big
        return await read_limited(request.stream(), self.request_limits)

    async def _send(
        self,
        door: Door,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        cap: int,
    ) -> Upstream:
        return await self.forwarder.send(
            door, method, url, headers=headers, content=body or None, max_bytes=cap
        )

    # ---- spec routes

    async def _operation(self, request: Request, routed: Routed) -> Response:
        operation, started = routed.operation, time.time()
        raw, too_big = await self._body(request)
        content_type = request.headers.get("content-type", "")
        body, problem = (None, too_big) if too_big else parse_body(content_type, raw, self.request_limits)
        origin = origin_of(request, self.settings.public_url)
        intake = Intake(body, problem, routed.path_params, origin, request.headers)
        self.redactor.learn_body(body)
        self.redactor.learn_headers(request.headers.items())
        violations = request_violations(operation, intake)
        if violations:
            log.warning("%s request breaks the spec: %s", operation.operation_id, header_text(violations))
        url = self.plan.target + _raw_target(request)
        exchange = Exchange(
            started, request.method, url, request.headers.items(), raw, 0, "", [], b"", request_json=body
        )
        exchange.notes = self._notes(operation, routed, violations)
        if too_big is not None or (violations and self.settings.block_invalid):
            exchange.notes["answered_by"] = "proxy"
            outcome = negotiate(operation, body, violations, Preferences(), Policy(), 0.0)
            return await self._own_reply(exchange, operation, outcome, {})
        forwarded, token = raw, None
        if self.settings.webhooks != "pass":
            forwarded, token = self.hooks.rewrite(operation, body, raw, origin)
            if token is not None:
                exchange.notes["webhook"] = "received by the proxy"
        try:
            upstream = await self._send(
                "target",
                request.method,
                url,
                request.headers.items(),
                forwarded,
                self.settings.max_reply_bytes,
            )
        except UpstreamError as error:
            log.error("%s %s: the target failed: %s", request.method, url, error)
            exchange.notes.update(answered_by="proxy", error=str(error))
            outcome = Outcome("error", "server_error_503", 503, tuple(violations))
            return await self._own_reply(exchange, operation, outcome, {ERROR_HEADER: str(error)[:500]})
        return await self._target_reply(exchange, operation, upstream, origin, violations)

    def _notes(self, operation: Operation, routed: Routed, violations: Sequence[Violation]) -> dict[str, Any]:
        job = routed.path_params.get("id")
        return {
            "kind": operation.kind,
            "spec": operation.spec,
            "operation": operation.operation_id,
            "job_id": job,
            "request_violations": [violation.as_header_item() for violation in violations],
            "answered_by": "target",
        }

    async def _own_reply(
        self, exchange: Exchange, operation: Operation, outcome: Outcome, extra: dict[str, str]
    ) -> Response:
        """The vendor's words without calling it: its error envelope, or the spec's 503 when it failed."""
        draft = ResponseDraft(outcome.status_code, error_body(operation, outcome), outcome.example, extra)
        response = render(operation, outcome, draft, [], strict=False)
        exchange.status, exchange.reason = response.status_code, "Proxy"
        exchange.reply_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
        exchange.reply_body = bytes(response.body)
        await self._record(exchange)
        return response

    async def _target_reply(
        self,
        exchange: Exchange,
        operation: Operation,
        upstream: Upstream,
        origin: str,
        violations: Sequence[Violation],
    ) -> Response:
        reply_json, _ = decode_reply(upstream.content_type, upstream.content, self.reply_limits)
        problems = reply_violations(operation, upstream.status, upstream.content_type, upstream.content)
        if problems:
            log.warning("%s reply breaks the spec: %s", operation.operation_id, header_text(problems))
        content = self._through_proxy(upstream.content, reply_json, origin)
        if operation.kind == "create" and isinstance(reply_json, dict) and exchange.notes["job_id"] is None:
            job = reply_json.get("id")
            exchange.notes["job_id"] = str(job) if isinstance(job, int | str) and job != "" else None
        exchange.notes["reply_violations"] = [violation.as_header_item() for violation in problems]
        self._fill(exchange, upstream, reply_json)
        await self._record(exchange)
        self._access(exchange)
        return relayed(content, upstream.status, upstream.headers, _violation_headers(violations, problems))

    def _through_proxy(self, content: bytes, reply_json: Any, origin: str) -> bytes:
        """While recording: fetch_result and file URLs point at the proxy, so they are recorded too."""
        if self.recorder is None or reply_json is None:
            return content
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return content
        rewritten = rewrite_urls(
            text, reply_json, lambda url, field: self.plan.client_url(url, field, origin)
        )
        return rewritten.encode("utf-8")

    def _fill(self, exchange: Exchange, upstream: Upstream, reply_json: Any) -> None:
        exchange.status, exchange.reason = upstream.status, upstream.reason
        exchange.reply_headers, exchange.reply_body = upstream.headers, upstream.content
        exchange.started_at, exchange.wait_s, exchange.receive_s = (
            upstream.started_at,
            upstream.wait_s,
            upstream.receive_s,
        )
        exchange.reply_json = reply_json

    async def _record(self, exchange: Exchange) -> None:
        if self.recorder is not None:
            await self.recorder.record(exchange)

    def _access(self, exchange: Exchange) -> None:
        if self.settings.access_log:
            notes = exchange.notes
            what = notes.get("operation") or notes.get("kind", "")
            log.info(
                "%s %s -> %d (%s)", exchange.method, self.redactor.text(exchange.url), exchange.status, what
            )

    # ---- files, webhooks, everything else

    async def _download(self, request: Request) -> Response:
        if request.method not in {"GET", "HEAD"}:
            raise Problem(405, "method-not-allowed", "Method not allowed", "files are read with GET or HEAD")
        upstream_url = recorded_upstream(
            request.scope["path"], request.scope.get("query_string", b"").decode()
        )
        if upstream_url is None:
            raise Problem(404, "no-file", "No such file", f"{request.scope['path']} names no http(s) file")
        why = self.forwarder.refusal("download", upstream_url)
        if why is not None:
            raise Problem(403, "not-allowed", "Not an allowed host", why)
        headers = [
            (k, v) for k, v in request.headers.items() if k.lower() in {"accept", "range", "user-agent"}
        ]
        return await self._forward_plain(request, "download", upstream_url, headers, None, "download")

    async def _pass_through(self, request: Request) -> Response:
        raw, too_big = await self._body(request)
        if too_big is not None:
            raise Problem(413, "too-large", "Request too large", too_big)
        url = self.plan.target + _raw_target(request)
        return await self._forward_plain(request, "target", url, request.headers.items(), raw, "other")

    async def _forward_plain(
        self,
        request: Request,
        door: Door,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        kind: str,
    ) -> Response:
        try:
            upstream = await self._send(
                door, request.method, url, headers, body, self.settings.max_file_bytes
            )
        except UpstreamError as error:
            log.error("%s %s: %s", request.method, self.redactor.text(url), error)
            raise Problem(502, "target-failed", "The target failed", self.redactor.text(str(error))) from None
        exchange = Exchange(time.time(), request.method, url, headers, body or None, 0, "", [], b"")
        exchange.notes = {"kind": kind, "answered_by": "target"}
        self._fill(exchange, upstream, None)
        await self._record(exchange)
        self._access(exchange)
        return relayed(upstream.content, upstream.status, upstream.headers, {})

    async def _webhook(self, request: Request, token: str) -> Response:
        hook = self.hooks.get(token)
        if hook is None:
            raise Problem(404, "no-webhook", "No such webhook", "this webhook token was never handed out")
        if request.method != "POST":
            raise Problem(405, "method-not-allowed", "Method not allowed", "webhooks are POSTed")
        raw, too_big = await self._body(request)
        content_type = request.headers.get("content-type", "")
        payload, problem = (None, too_big) if too_big else parse_body(content_type, raw, self.request_limits)
        operation = hook.operation
        violations = (
            [Violation((), "malformed", problem)]
            if problem is not None
            else webhook_violations(operation, payload)
        )
        if violations:
            log.warning("%s webhook breaks the spec: %s", operation.operation_id, header_text(violations))
        job = payload.get("id") if isinstance(payload, dict) else None
        exchange = Exchange(
            time.time(),
            "POST",
            hook.client_url,
            request.headers.items(),
            raw,
            0,
            "",
            [],
            b"",
            request_json=payload,
        )
        exchange.notes = {
            "kind": "webhook",
            "spec": operation.spec,
            "operation": operation.operation_id,
            "job_id": str(job) if isinstance(job, int | str) and job != "" else None,
            "request_violations": [violation.as_header_item() for violation in violations],
            "answered_by": "proxy",
        }
        if self.settings.webhooks == "relay" and too_big is None:
            content = self._through_proxy(raw, payload, hook.origin)
            try:
                upstream = await self._send(
                    "webhook",
                    "POST",
                    hook.client_url,
                    [("content-type", content_type)],
                    content,
                    self.settings.max_reply_bytes,
                )
            except UpstreamError as error:
                log.warning("webhook for %s not relayed: %s", operation.operation_id, error)
                exchange.notes["error"] = str(error)
            else:
                exchange.notes["answered_by"] = "client"
                self._fill(exchange, upstream, None)
                await self._record(exchange)
                return relayed(
                    upstream.content, upstream.status, upstream.headers, _violation_headers(violations, [])
                )
        reply = Response(b"{}", media_type="application/json", headers=_violation_headers(violations, []))
        exchange.status, exchange.reason, exchange.reply_body = reply.status_code, "OK", b"{}"
        exchange.reply_headers = [("content-type", "application/json")]
        await self._record(exchange)
        return reply

    async def aclose(self) -> None:
        await self.forwarder.aclose()


def create_proxy_app(
    settings: ProxySettings,
    *,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    on_close: Callable[[Proxy], None] | None = None,
) -> Starlette:
    """The proxy as an ASGI app; `client` replaces the HTTP client (tests), `on_close` runs at shutdown."""
    proxy = Proxy(settings, client=client, clock=clock)

    async def endpoint(request: Request) -> Response:
        return await proxy.handle(request)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await proxy.aclose()
            if on_close is not None:
                on_close(proxy)

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)], lifespan=lifespan)
    app.state.proxy = proxy
    return app
