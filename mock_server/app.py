"""The ASGI application: the vendor's routes (from the specs), output files, what is served (`GET /`, the
specs at `/openapi/*.yaml`), the admin API, CORS around them all, and two checks: `/health` (the process
answers) and `/ready` (it can also use its store)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.access_log import ACCESS_LOG, AccessLog, request_part
from mock_server.cors import Cors, CorsPolicy
from mock_server.discovery import index_route, spec_routes
from mock_server.engines.base import Engine
from mock_server.pipeline.handler import handle
from mock_server.pipeline.outputs import serve_image
from mock_server.problems import Problem, method_not_allowed, problem_response
from mock_server.proxy.urls import RECORDED_PREFIX
from mock_server.runtime import Runtime, build_runtime
from mock_server.services.admin import DEFAULT_PREFIX, Admin, admin_endpoint, admin_mount
from mock_server.services.admin_access import AdminAccess, admin_access
from mock_server.services.rules_api import rules_routes
from mock_server.sessions import PATH_PREFIX, enter_path_session, request_session
from mock_server.settings import Settings, load_settings, settings_from_json
from mock_server.state.clock import Clock
from mock_server.state.ids import Ids
from mock_server.state.redis.urls import shown

__all__ = ["RESOLVED_SETTINGS_ENV", "app_from_environment", "create_app", "freeze_heap"]

# Set by `mixmock serve --workers N` so that every worker process gets the same resolved settings.
RESOLVED_SETTINGS_ENV = "MIXMOCK_RESOLVED_SETTINGS"
log = logging.getLogger("mixmock")


class _MockApp(Starlette):
    """Starlette, with a short way in for the vendor's routes (every request of a load test).

    A request that no other route could take (not /health, /ready, /generations/..., the admin prefix),
    whatever its method, goes straight to the pipeline, skipping the router's scan and the middleware:
    `handle` already turns every error into a reply (a 405 problem for TRACE or PROPFIND), as those
    layers would.
    """

    def __init__(
        self,
        runtime: Runtime,
        reserved: tuple[str, ...],
        access_log: AccessLog | None,
        cors: Cors,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._runtime = runtime
        self._reserved = reserved  # path prefixes that other routes may take ("/" itself: the index)
        self._access_log = access_log
        self._cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if self._access_log is not None:
            send = _logging_send(self._access_log, scope, send)
        if scope["path"].startswith(PATH_PREFIX):  # /_session/<id>/...: routed as the rest, in <id>
            try:
                enter_path_session(scope)
            except Problem as problem:
                await problem_response(problem)(scope, receive, send)
                return
        answer = await self._cors.apply(scope, receive, send)
        if answer is None:  # a preflight, answered
            return
        send = answer
        if scope["path"] != "/" and not scope["path"].startswith(self._reserved):
            scope["app"] = self
            response = await handle(self._runtime, Request(scope, receive, send))
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class _Fallback(BaseRoute):
    """Every method and path no other route takes goes to the pipeline (its 404 and 405 problems).

    It matches every request, but only partially, as a route matches a path under another method: the
    router takes a full match first, then the first partial one, so `POST /health` still gets the
    /health route's 405, and anything else ends here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return (Match.PARTIAL, {}) if scope["type"] == "http" else (Match.NONE, {})

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _logging_send(log: AccessLog, scope: Scope, send: Send) -> Send:
    request = request_part(scope)

    async def send_and_log(message: Message) -> None:
        log.record(request, message)
        await send(message)

    return send_and_log


def _reset(runtime: Runtime, session: str) -> None:
    """What `POST /_mixmock/reset` forgets of a session beyond the admin API's own stores (a session
    other than the default also starts its ratio draws over)."""
    runtime.faults.reset(session)
    runtime.rules.run_time.clear(session)
    if session:
        runtime.rng.reset(session)


def _admin_routes(runtime: Runtime, access: AdminAccess) -> list[BaseRoute]:
    if not access.served:
        return []
    admin = Admin(
        journal=runtime.journal,
        deliveries=runtime.webhooks.deliveries,
        defaults=runtime.defaults,
        jobs=runtime.store,
        access=access,
        on_reset=functools.partial(_reset, runtime),
    )
    guard = functools.partial(admin_endpoint, admin)
    return [*rules_routes(runtime.rules, DEFAULT_PREFIX, guard), admin_mount(admin)]


def _cors(settings: Settings) -> Cors:
    return Cors(
        CorsPolicy.of(settings.cors_origins, ["GET", "HEAD", "POST"], "--cors-origin"),
        CorsPolicy.of(settings.admin_cors_origins, ["GET", "POST", "PUT", "DELETE"], "--admin-cors-origin"),
        DEFAULT_PREFIX,
    )


def _replay_routes(runtime: Runtime) -> list[BaseRoute]:
    """`--replay DIR`: the recording's output files, at the URLs the proxy gave them."""
    replay = runtime.replay
    if replay is None:
        return []

    async def recorded_file(request: Request) -> Response:
        return replay.file(request.scope["path"], request.scope["query_string"].decode("latin-1"))

    return [Route(RECORDED_PREFIX + "/{path:path}", recorded_file, methods=["GET"])]


async def _http_problem(request: Request, error: Exception) -> Response:
    """Starlette's own 404 and 405 (paths beside the vendor's) as problem+json, like the pipeline's."""
    status = error.status_code if isinstance(error, HTTPException) else 500
    method, path = request.method, request.url.path
    if status == 405 and isinstance(error, HTTPException) and error.headers:
        allowed = error.headers.get("Allow", "").split(", ")
        return problem_response(method_not_allowed(method, path[:200], allowed))
    if status == 404:
        problem = Problem(404, "no-route", "No route", f"nothing answers {method} {path[:200]}")
    else:
        problem = Problem(status, "http-error", "HTTP error", str(getattr(error, "detail", error)))
    return problem_response(problem)


def create_app(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None, ids: Ids | None = None
) -> Starlette:
    runtime = build_runtime(settings, engine=engine, clock=clock, ids=ids)

    async def api(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handle(runtime, Request(scope, receive, send))
        await response(scope, receive, send)

    async def image(request: Request) -> Response:
        try:
            session = request_session(request.scope, request.headers)
        except Problem as problem:
            return problem_response(problem)
        return await serve_image(runtime, request.path_params["name"], session)

    async def health(request: Request) -> Response:
        """Liveness: the process answers (the store may be down: that is /ready's question)."""
        return JSONResponse(
            {
                "status": "ok",
                "engine": runtime.engine.name,
                "profile": settings.profile,
                "store": shown(settings.store),
            }
        )

    async def ready(request: Request) -> Response:
        """Readiness: the store can be written now (a load balancer sends traffic only to ready replicas);
        503 naming the reason while it cannot. The check may write a probe: off the event loop."""
        problem = await asyncio.to_thread(runtime.health.check)
        body: dict[str, Any] = {"ready": problem is None, "store": shown(settings.store)}
        if problem is not None:
            body["reason"] = problem.reason
        return JSONResponse(body, status_code=200 if problem is None else 503)

    access = admin_access(settings.admin, settings.admin_token, settings.host)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.log(logging.WARNING if access.warn else logging.INFO, access.describe())
        loops = [asyncio.create_task(loop) for loop in runtime.background_loops()]
        try:
            yield
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await runtime.aclose()

    app = _MockApp(
        runtime,
        ("/health", "/ready", "/generations/", "/openapi/", DEFAULT_PREFIX, RECORDED_PREFIX + "/"),
        ACCESS_LOG if settings.access_log else None,
        _cors(settings),
        routes=[
            index_route(settings, runtime.routes, DEFAULT_PREFIX),
            *spec_routes(),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/generations/{name}", image, methods=["GET"]),
            *_replay_routes(runtime),
            *_admin_routes(runtime, access),
            _Fallback(api),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_problem},
    )
    app.state.runtime = runtime
    return app


def freeze_heap() -> None:
    """Move what startup built (specs, compiled validators, modules) out of the garbage collector's sight.

    Called by the server once its app is built: later collections then scan only per-request objects.
    Not called by `create_app`, which tests call many times in one process.
    """
    gc.collect()
    gc.freeze()


def app_from_environment() -> Starlette:
    """The app factory worker processes import (`uvicorn --factory mock_server.app:app_from_environment`)."""
    resolved = os.environ.get(RESOLVED_SETTINGS_ENV)
    app = create_app(settings_from_json(resolved) if resolved else load_settings())
    freeze_heap()
    return app
