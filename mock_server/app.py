"""The ASGI application: the vendor's routes (from the specs), output files, health checks, what is
served (`GET /`, the specs at `/openapi/*.yaml`), the admin API, and CORS around them all."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from mock_server.access_log import ACCESS_LOG, AccessLog, request_part
from mock_server.cors import Cors, CorsPolicy
from mock_server.discovery import index_route, spec_routes
from mock_server.engines.base import Engine
from mock_server.pipeline.handler import handle
from mock_server.pipeline.outputs import serve_image
from mock_server.problems import problem_response, store_unavailable
from mock_server.proxy.urls import RECORDED_PREFIX
from mock_server.runtime import Runtime, build_runtime
from mock_server.services.admin import DEFAULT_PREFIX, Admin, admin_endpoint, admin_mount
from mock_server.services.rules_api import rules_routes
from mock_server.settings import Settings, load_settings, settings_from_json
from mock_server.state.clock import Clock
from mock_server.state.ids import Ids
from mock_server.state.jobs import StoreUnavailableError
from mock_server.state.redis.urls import shown

__all__ = ["RESOLVED_SETTINGS_ENV", "app_from_environment", "create_app", "freeze_heap"]

# Set by `mixmock serve --workers N` so that every worker process gets the same resolved settings.
RESOLVED_SETTINGS_ENV = "MIXMOCK_RESOLVED_SETTINGS"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class _MockApp(Starlette):
    """Starlette, with a short way in for the vendor's routes (every request of a load test).

    A request that no other route could take (not /health, /generations/..., the admin prefix) and whose
    method the catch-all route accepts goes straight to the pipeline, skipping the router's scan and the
    middleware: `handle` already turns every error into a reply, as those layers would.
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
        self._methods = frozenset(_METHODS)
        self._access_log = access_log
        self._cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if self._access_log is not None:
            send = _logging_send(self._access_log, scope, send)
        answer = await self._cors.apply(scope, receive, send)
        if answer is None:  # a preflight, answered
            return
        send = answer
        if (
            scope["method"] in self._methods
            and scope["path"] != "/"
            and not scope["path"].startswith(self._reserved)
        ):
            scope["app"] = self
            response = await handle(self._runtime, Request(scope, receive, send))
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _logging_send(log: AccessLog, scope: Scope, send: Send) -> Send:
    request = request_part(scope)

    async def send_and_log(message: Message) -> None:
        log.record(request, message)
        await send(message)

    return send_and_log


def _reset(runtime: Runtime) -> None:
    """What `POST /_mixmock/reset` forgets beyond the admin API's own stores."""
    runtime.faults.reset()
    runtime.rules.run_time.clear()


def _admin_routes(runtime: Runtime) -> list[BaseRoute]:
    if not runtime.settings.admin:
        return []
    admin = Admin(
        journal=runtime.journal,
        deliveries=runtime.webhooks.deliveries,
        defaults=runtime.defaults,
        jobs=runtime.store,
        token=runtime.settings.admin_token,
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


def create_app(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None, ids: Ids | None = None
) -> Starlette:
    runtime = build_runtime(settings, engine=engine, clock=clock, ids=ids)

    async def api(request: Request) -> Response:
        return await handle(runtime, request)

    async def image(request: Request) -> Response:
        try:
            return await serve_image(runtime, request.path_params["name"])
        except StoreUnavailableError as error:
            runtime.health.failed(error)
            return problem_response(store_unavailable(error))

    async def health(request: Request) -> Response:
        """Liveness: the process serves (the store may be down: see /ready)."""
        return JSONResponse(
            {
                "status": "ok",
                "engine": runtime.engine.name,
                "profile": settings.profile,
                "store": shown(settings.store),
            }
        )

    async def ready(request: Request) -> Response:
        """Readiness: the store answers now (a load balancer sends traffic only to ready replicas)."""
        problem = await asyncio.to_thread(runtime.health.check)
        body: dict[str, Any] = {"ready": problem is None, "store": shown(settings.store)}
        if problem is not None:
            body["reason"] = problem.reason
        return JSONResponse(body, status_code=200 if problem is None else 503)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
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
            *_admin_routes(runtime),
            Route("/{path:path}", api, methods=_METHODS),
        ],
        lifespan=lifespan,
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
