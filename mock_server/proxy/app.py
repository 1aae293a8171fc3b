"""The proxy's ASGI app: which kind of exchange a request is, and the ones too small for a module.

spec route                         operations.py: both sides checked, recorded
/_mixmock/proxy/webhooks/<token>   receiver.py: the vendor's webhook, checked, recorded, relayed
/_recorded/<scheme>/<host>/<path>  an output file, from the target or a --download-host
/_mixmock/proxy/health             the proxy's own health
anything else                      passed through to the target untouched (and recorded)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.pipeline.routing import route
from mock_server.problems import Problem, problem_response
from mock_server.proxy.context import ProxyContext, fill, raw_target
from mock_server.proxy.forwarding import Door, UpstreamError, relayed
from mock_server.proxy.har import Exchange
from mock_server.proxy.operations import ERROR_HEADER, through_operation
from mock_server.proxy.receiver import WEBHOOKS_PATH, receive_webhook
from mock_server.proxy.urls import PROXY_PREFIX, RECORDED_PREFIX, recorded_upstream
from mock_server.settings import ProxySettings

__all__ = ["ERROR_HEADER", "HEALTH_PATH", "Proxy", "create_proxy_app"]

HEALTH_PATH = PROXY_PREFIX + "/health"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_FILE_HEADERS = frozenset({"accept", "range", "user-agent"})


class Proxy(ProxyContext):
    """The proxy process: its context, and the dispatch of each request to its kind of exchange."""

    async def handle(self, request: Request) -> Response:
        path: str = request.scope["path"]
        try:
            if path == HEALTH_PATH:
                recording = str(self.recorder.path) if self.recorder is not None else None
                return JSONResponse({"status": "ok", "target": self.plan.target, "recording": recording})
            if path.startswith(WEBHOOKS_PATH + "/"):
                return await receive_webhook(self, request, path[len(WEBHOOKS_PATH) + 1 :])
            if path.startswith(RECORDED_PREFIX + "/"):
                return await self._download(request)
            try:
                routed = route(self.routes, request.method, path)
            except Problem:
                return await self._pass_through(request)
            return await through_operation(self, request, routed)
        except Problem as problem:
            return problem_response(problem)

    async def _download(self, request: Request) -> Response:
        if request.method not in {"GET", "HEAD"}:
            raise Problem(405, "method-not-allowed", "Method not allowed", "files are read with GET or HEAD")
        url = recorded_upstream(
            request.scope["path"], request.scope.get("query_string", b"").decode("latin-1")
        )
        if url is None:
            raise Problem(404, "no-file", "No such file", f"{request.scope['path']} names no http(s) file")
        why = self.forwarder.refusal("download", url)
        if why is not None:
            raise Problem(403, "not-allowed", "Not an allowed host", why)
        headers = [(name, value) for name, value in request.headers.items() if name in _FILE_HEADERS]
        return await self._plain(request, "download", url, headers, None)

    async def _pass_through(self, request: Request) -> Response:
        raw, too_big = await self.body(request)
        if too_big is not None:
            raise Problem(413, "too-large", "Request too large", too_big)
        url = self.plan.target + raw_target(request)
        return await self._plain(request, "target", url, request.headers.items(), raw)

    async def _plain(
        self, request: Request, door: Door, url: str, headers: Sequence[tuple[str, str]], body: bytes | None
    ) -> Response:
        """A download or another route: forwarded and recorded as it is, no contract to check."""
        try:
            upstream = await self.send(door, request.method, url, headers, body, self.settings.max_file_bytes)
        except UpstreamError as error:
            self.log.error("%s %s: %s", request.method, url, error)
            raise Problem(502, "target-failed", "The target failed", self.redactor.text(str(error))) from None
        exchange = Exchange(self.clock(), request.method, url, headers, body or None, 0, "", [], b"")
        exchange.notes = {"kind": "download" if door == "download" else "other", "answered_by": "target"}
        await self.finish(fill(exchange, upstream))
        return relayed(upstream.content, upstream.status, upstream.headers, {})


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
