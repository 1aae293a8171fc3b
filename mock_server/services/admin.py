"""The inspection API under `/_mixmock/`: journal, jobs, webhook deliveries, scenario defaults, reset.

GET  /_mixmock/requests?operation=img_mixer&body.steps=41&limit=20   what clients sent, and the replies
GET  /_mixmock/jobs?limit=50 · GET /_mixmock/jobs/{id}               the job store
GET  /_mixmock/webhooks?state=pending                                 deliveries with every attempt
GET|PUT|DELETE /_mixmock/defaults   {"prefer": "scenario=processing", "ratios": {"processing": 0.3}}
POST /_mixmock/reset                                                  forget journal, deliveries, defaults
Every route answers 401 without `Authorization: Bearer <token>` when a token is configured.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, get_args

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from mock_server.problems import Problem, problem_response, store_unavailable
from mock_server.services.defaults import DefaultsError, DefaultsStore, parse_defaults
from mock_server.services.deliveries import Deliveries, DeliveryState
from mock_server.services.journal import Journal, parse_filters
from mock_server.state.jobs import Job, StoreUnavailableError

__all__ = ["DEFAULT_PREFIX", "Admin", "JobsView", "admin_endpoint", "admin_mount"]

DEFAULT_PREFIX = "/_mixmock"
Endpoint = Callable[[Request], Awaitable[Response]]


class JobsView(Protocol):
    def get(self, job_id: int) -> Job | None: ...

    def recent(self, limit: int) -> list[Job]: ...


@dataclass
class Admin:
    journal: Journal
    deliveries: Deliveries
    defaults: DefaultsStore
    jobs: JobsView
    token: str | None = None
    on_reset: Callable[[], None] | None = None  # e.g. restart the seeded generators


def _limit(request: Request, default: int = 100) -> int:
    raw = request.query_params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        detail = f"limit={raw!r} must be a whole number from 1 to 10000"
        raise Problem(400, "bad-query", "Bad query", detail)
    return int(raw)


def _job_dict(job: Job) -> dict[str, Any]:
    data = dataclasses.asdict(job)
    data["image_job"]["params"] = dict(job.image_job.params)
    return data


def _json(data: Any) -> Response:
    return Response(json.dumps(data, default=str), media_type="application/json")


def _guarded(admin: Admin, endpoint: Endpoint) -> Endpoint:
    async def guarded(request: Request) -> Response:
        if admin.token is not None:
            sent = request.headers.get("authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {admin.token}".encode()):
                problem = Problem(
                    401,
                    "admin-unauthorized",
                    "Admin token required",
                    "send Authorization: Bearer <the configured admin token>",
                    headers={"WWW-Authenticate": "Bearer"},
                )
                return problem_response(problem)
        try:
            return await endpoint(request)
        except Problem as problem:
            return problem_response(problem)
        except StoreUnavailableError as error:
            return problem_response(store_unavailable(error))

    return guarded


def admin_endpoint(admin: Admin, endpoint: Endpoint) -> Endpoint:
    """`endpoint` behind the admin API's access check, its problems rendered: for the admin routes that
    other modules serve beside these (`services/rules_api.py`)."""
    return _guarded(admin, endpoint)


def _routes(admin: Admin) -> list[BaseRoute]:
    async def requests(request: Request) -> Response:
        pairs = [(name, value) for name, value in request.query_params.multi_items() if name != "limit"]
        try:
            filters = parse_filters(pairs)
        except ValueError as error:
            raise Problem(400, "bad-query", "Bad query", str(error)) from None
        entries = admin.journal.entries(filters, limit=_limit(request))
        return _json({"requests": [entry.as_dict() for entry in entries]})

    async def jobs(request: Request) -> Response:
        return _json({"jobs": [_job_dict(job) for job in admin.jobs.recent(_limit(request))]})

    async def job(request: Request) -> Response:
        raw = request.path_params["job_id"]
        found = admin.jobs.get(int(raw)) if raw.isdigit() else None
        if found is None:
            raise Problem(404, "no-job", "No such job", f"no job has id {raw!r}")
        return _json(_job_dict(found))

    async def webhooks(request: Request) -> Response:
        state = request.query_params.get("state")
        if state is not None and state not in get_args(DeliveryState):
            known = ", ".join(get_args(DeliveryState))
            raise Problem(400, "bad-query", "Bad query", f"state={state!r} is not one of {known}")
        found = admin.deliveries.all(state, limit=_limit(request))  # type: ignore[arg-type]
        return _json({"deliveries": [delivery.as_dict() for delivery in found]})

    async def defaults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise Problem(400, "bad-defaults", "Bad defaults", "the body is not JSON") from None
            try:
                admin.defaults.set(parse_defaults(body))
            except DefaultsError as error:
                raise Problem(400, "bad-defaults", "Bad defaults", str(error)) from None
        elif request.method == "DELETE":
            admin.defaults.clear()
        return _json(admin.defaults.get().as_dict())

    async def reset(request: Request) -> Response:
        admin.journal.clear()
        admin.deliveries.clear()
        admin.defaults.clear()
        if admin.on_reset is not None:
            admin.on_reset()
        return _json({"reset": True})

    table: Sequence[tuple[str, Endpoint, list[str]]] = (
        ("/requests", requests, ["GET"]),
        ("/jobs", jobs, ["GET"]),
        ("/jobs/{job_id}", job, ["GET"]),
        ("/webhooks", webhooks, ["GET"]),
        ("/defaults", defaults, ["GET", "PUT", "DELETE"]),
        ("/reset", reset, ["POST"]),
    )
    return [Route(path, _guarded(admin, endpoint), methods=methods) for path, endpoint, methods in table]


def admin_mount(admin: Admin, prefix: str = DEFAULT_PREFIX) -> Mount:
    """The admin routes, mounted under `prefix`; put it before the catch-all vendor route."""
    if not prefix.startswith("/") or prefix.endswith("/") or prefix == "/":
        raise ValueError(f"admin prefix {prefix!r} must start with '/' and not end with one")
    return Mount(prefix, routes=_routes(admin))
