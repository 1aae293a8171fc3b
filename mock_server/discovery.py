"""What the mock serves, said three ways: a block in the log at start, `GET /`, and the published specs at
`/openapi/<name>.yaml` (the files of the `openapi` package, byte for byte), so that a person, Prism or
schemathesis can take the contract from the running mock.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.routing import Route as StarletteRoute

from mock_server.pipeline.intake import origin_of
from mock_server.pipeline.routing import Route
from mock_server.problems import Problem, problem_response
from mock_server.services.admin_access import AdminAccess, admin_access
from mock_server.sessions import HOW as SESSIONS
from mock_server.sessions import path_prefix, request_session
from mock_server.settings import Settings
from mock_server.state.launch_store import is_launch_store
from mock_server.state.redis.urls import shown
from openapi import SPECS

__all__ = [
    "SPEC_MEDIA_TYPE",
    "admin_state",
    "index",
    "index_route",
    "package_version",
    "spec_path",
    "spec_routes",
    "startup_block",
]

SPEC_MEDIA_TYPE = "application/yaml"  # RFC 9512
OUTPUT_FILES = "/generations/{file_prefix}.png"


def package_version() -> str:
    try:
        return importlib.metadata.version("mixmock")
    except importlib.metadata.PackageNotFoundError:  # run from a clone that was never installed
        return "unknown (not installed)"


def spec_path(name: str) -> str:
    """Where the mock serves a spec: `/openapi/v6.yaml`, `/openapi/v1-enterprise.yaml`, `/openapi/v5.yaml`."""
    return f"/openapi/{name}.yaml"


def spec_routes() -> list[BaseRoute]:
    """One GET route per published spec file, its bytes read once."""
    routes: list[BaseRoute] = []
    for name, spec in SPECS.items():
        content = spec.path.read_bytes()

        async def serve(request: Request, content: bytes = content) -> Response:
            return Response(content, media_type=SPEC_MEDIA_TYPE)

        routes.append(StarletteRoute(spec_path(name), serve, methods=["GET"]))
    return routes


def admin_state(settings: Settings) -> AdminAccess:
    """Who may use the admin API, as `create_app` decides it (the token itself is never shown)."""
    return admin_access(settings.admin, settings.admin_token, settings.host)


def _store_text(settings: Settings) -> str:
    if is_launch_store(settings.store):
        return f"{settings.store} (this launch's own; removed when the server stops)"
    return shown(settings.store)  # a Redis URL without its password


def _cors_text(origins: Sequence[str], flag: str) -> str:
    return ", ".join(origins) if origins else f"closed ({flag} ORIGIN opens it)"


def _vendor_routes(routes: Sequence[Route]) -> list[dict[str, str]]:
    return [
        {
            "method": entry.operation.method,
            "path": entry.path,
            "operation": entry.operation.operation_id,
            "spec": entry.operation.spec,
        }
        for entry in routes
    ]


def index(request: Request, settings: Settings, routes: Sequence[Route], admin_prefix: str) -> dict[str, Any]:
    """`GET /`: the routes, links to the specs and the mock's own endpoints, as absolute URLs (under the
    request's session prefix, so that a client following them stays in its session); Problem for a bad
    session id."""
    origin = origin_of(request, settings.public_url) + path_prefix(
        request_session(request.scope, request.headers)
    )
    access = admin_state(settings)
    specs = {name: origin + spec_path(name) for name in SPECS}
    vendor = _vendor_routes(routes)
    for entry in vendor:
        entry["spec_url"] = specs[entry["spec"]]
    return {
        "service": "mixmock",
        "version": package_version(),
        "profile": settings.profile,
        "error_status": settings.error_status,
        "engine": settings.engine,
        "routes": vendor,
        "specs": specs,
        "files": origin + OUTPUT_FILES,
        "health": origin + "/health",
        "ready": origin + "/ready",
        "admin": origin + admin_prefix + "/" if access.served else None,
        "admin_access": access.state,
        "sessions": SESSIONS,
    }


def index_route(settings: Settings, routes: Sequence[Route], admin_prefix: str) -> BaseRoute:
    async def serve(request: Request) -> Response:
        try:
            return JSONResponse(index(request, settings, routes, admin_prefix))
        except Problem as problem:
            return problem_response(problem)

    return StarletteRoute("/", serve, methods=["GET"])


def startup_block(settings: Settings, routes: Sequence[Route], admin_prefix: str) -> str:
    """What this launch serves, as one block for the log."""
    width = max(len(entry.path) for entry in routes) + 2

    def line(method: str, path: str, what: str) -> str:
        return f"  {method:<5}{path:<{width}}{what}"

    specs = ", ".join(spec_path(name) for name in SPECS)
    address = f"http://{settings.host}:{settings.port}"
    lines = [f"mixmock {package_version()} serves the vendor's routes on {address}"]
    for entry in routes:
        operation = entry.operation
        lines.append(line(operation.method, entry.path, f"{operation.operation_id} (spec {operation.spec})"))
    lines += [
        line("GET", OUTPUT_FILES, "output images"),
        line("GET", "/", f"this list, as JSON; the specs at {specs}"),
        line("GET", "/health, /ready", "liveness; readiness (the store answers)"),
        f"  profile: {settings.profile}; errors: {settings.error_status}; engine: {settings.engine}; "
        f"workers: {settings.workers}",
        f"  store: {_store_text(settings)}",
        f"  {admin_state(settings).describe()}",
        f"  {SESSIONS}",
        f"  cors: {_cors_text(settings.cors_origins, '--cors-origin')}; "
        f"admin cors: {_cors_text(settings.admin_cors_origins, '--admin-cors-origin')}",
    ]
    if settings.rules_file:
        poll = f"read again when it changes, checked every {settings.rules_poll_s:g} s"
        lines.append(
            f"  rules file: {settings.rules_file} ({poll if settings.rules_poll_s else 'read once'})"
        )
    return "\n".join(lines)
