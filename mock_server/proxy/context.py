"""What one proxy process holds, built once: the door out, the redactor, the recorder, the webhook tokens,
and the small steps every kind of exchange shares (read a capped body, rewrite URLs, record, log)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request

from mock_server.parsing import HostAllowList
from mock_server.pipeline.limits import BodyLimits, declared_length_problem, read_limited
from mock_server.pipeline.rendering import REQUEST_VIOLATIONS_HEADER, VIOLATIONS_HEADER, header_text
from mock_server.pipeline.routing import route_table
from mock_server.pipeline.violations import Violation
from mock_server.proxy.forwarding import Deadlines, Door, Forwarder, Upstream
from mock_server.proxy.har import Exchange
from mock_server.proxy.hooks import Hooks
from mock_server.proxy.recorder import Recorder
from mock_server.proxy.redaction import Redactor
from mock_server.proxy.urls import UrlPlan, rewrite_urls
from mock_server.services.webhooks import WebhookPolicy
from mock_server.settings import ProxySettings, SettingsError

__all__ = ["ProxyContext", "ScrubbedLog", "fill", "job_of", "raw_target", "violation_headers"]

log = logging.getLogger("mixmock.proxy")


def raw_target(request: Request) -> str:
    """The path and query exactly as the client sent them (percent-escapes kept)."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    query: bytes = request.scope.get("query_string", b"")
    return raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


def violation_headers(request: Sequence[Violation], reply: Sequence[Violation]) -> dict[str, str]:
    headers = {}
    if request:
        headers[REQUEST_VIOLATIONS_HEADER] = header_text(request)
    if reply:
        headers[VIOLATIONS_HEADER] = header_text(reply)
    return headers


def job_of(value: Any) -> str | None:
    """A job id as recordings keep it (text), from a path parameter or a reply's `id`."""
    return (
        str(value) if isinstance(value, int | str) and not isinstance(value, bool) and value != "" else None
    )


class ScrubbedLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The proxy's log, each message scrubbed of the secrets the redactor knows (as the recordings are)."""

    def __init__(self, logger: logging.Logger, redactor: Redactor) -> None:
        super().__init__(logger, {})
        self.redactor = redactor

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, "%s", self.redactor.text(text), **kwargs)


class ProxyContext:
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
        self.clock = clock
        self.routes = route_table()
        self.plan = UrlPlan(
            settings.target.rstrip("/"), HostAllowList.parse(settings.download_hosts, "download host")
        )
        deadlines = Deadlines(settings.connect_timeout_s, settings.read_timeout_s, settings.total_timeout_s)
        policy = WebhookPolicy(allow_hosts=settings.webhook_allow_hosts, timeout_s=settings.read_timeout_s)
        self.forwarder = Forwarder(self.plan, policy, deadlines, client=client, clock=clock)
        self.redactor = Redactor(settings.redact, settings.redact)
        self.log = ScrubbedLog(log, self.redactor)
        self.hooks = Hooks(clock=clock)
        self.creates_sent = 0  # counted against --budget
        self.request_limits = BodyLimits(max_bytes=settings.max_body_bytes)
        self.reply_limits = BodyLimits(max_bytes=settings.max_reply_bytes)
        self.recorder: Recorder | None = None
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

    async def body(self, request: Request) -> tuple[bytes, str | None]:
        """The body, or why it is not read in full (over `--max-body-bytes`: never forwarded)."""
        too_big = declared_length_problem(request.headers, self.request_limits)
        if too_big is not None:
            return b"", too_big
        return await read_limited(request.stream(), self.request_limits)

    async def send(
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

    def through_proxy(self, content: bytes, body: Any, origin: str) -> bytes:
        """While recording: fetch_result and file URLs point at the proxy, so they are recorded too."""
        if self.recorder is None or body is None:
            return content
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return content
        rewritten = rewrite_urls(text, body, lambda url, field: self.plan.client_url(url, field, origin))
        return rewritten.encode("utf-8")

    async def finish(self, exchange: Exchange) -> None:
        """Record the exchange (redacted on the way) and log its access line."""
        if self.recorder is not None:
            await self.recorder.record(exchange)
        if self.settings.access_log:
            what = exchange.notes.get("operation") or exchange.notes.get("kind", "")
            self.log.info("%s %s -> %d (%s)", exchange.method, exchange.url, exchange.status, what)

    async def aclose(self) -> None:
        await self.forwarder.aclose()


def fill(exchange: Exchange, upstream: Upstream, reply_json: Any = None) -> Exchange:
    """The exchange with the upstream reply and its timings."""
    exchange.status, exchange.reason = upstream.status, upstream.reason
    exchange.reply_headers, exchange.reply_body, exchange.reply_json = (
        upstream.headers,
        upstream.content,
        reply_json,
    )
    exchange.started_at, exchange.wait_s, exchange.receive_s = (
        upstream.started_at,
        upstream.wait_s,
        upstream.receive_s,
    )
    return exchange
