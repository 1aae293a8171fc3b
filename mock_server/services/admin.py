"""The inspection API under `/_mixmock/`: journal, jobs, webhook deliveries, scenario defaults, reset.

GET  /_mixmock/requests?operation=img_mixer&body.steps=41&limit=20   what clients sent, and the replies
GET  /_mixmock/jobs?limit=50 · GET /_mixmock/jobs/{id}               the job store
GET  /_mixmock/webhooks?state=pending                                 deliveries with every attempt
GET|PUT|DELETE /_mixmock/defaults   {"prefer": "scenario=processing", "ratios": {"processing": 0.3}}
POST /_mixmock/reset                                                  forget journal, deliveries, defaults
Listings are pages, newest last: `next_before` (when not null) is the `before=` of the next older page.
Each call sees its own session (`mock_server/sessions.py`: `/_session/<id>/_mixmock/...` or the
`X-Mixmock-Session` header): its journal entries, jobs, deliveries, defaults, and a reset of its own.
From the default session, `?session=<id>` on a GET looks into that session; on a change it is a 400.
Who may call them is decided by `admin_access`: a token (401 without it), or closed (403) when the
server listens beyond loopback without a token or `--admin open`.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, get_args

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from mock_server.pipeline.limits import BodyLimits, decode_json, read_limited
from mock_server.problems import Problem, problem_response, store_unavailable
from mock_server.services.admin_access import AdminAccess
from mock_server.services.defaults import DefaultsError, DefaultsStore, parse_defaults
from mock_server.services.deliveries import DeliveryState, DeliveryStore
from mock_server.services.journal import Journal, parse_filters
from mock_server.sessions import check_session, request_session
from mock_server.state.jobs import MAX_JOB_ID, Job, Page, StoreError, Window

__all__ = [
    "DEFAULT_PREFIX",
    "Admin",
    "JobsView",
    "admin_endpoint",
    "admin_mount",
    "caller_session",
    "viewed_session",
]

DEFAULT_PREFIX = "/_mixmock"
Endpoint = Callable[[Request], Awaitable[Response]]
SCAN_PAGES = 16  # store pages one listing call walks through for the caller's session's items
T = TypeVar("T")
_DEFAULTS_BODY = BodyLimits(max_bytes=64 * 1024, max_depth=8, max_nodes=1000)  # a PUT /defaults body


class JobsView(Protocol):
    def get(self, job_id: int) -> Job | None: ...

    def page(self, window: Window) -> Page[Job]: ...


@dataclass
class Admin:
    journal: Journal
    deliveries: DeliveryStore
    defaults: DefaultsStore
    jobs: JobsView
    access: AdminAccess = field(default_factory=lambda: AdminAccess("open", why="open"))
    on_reset: Callable[[str], None] | None = None  # e.g. restart the session's seeded generators


def _limit(request: Request, default: int = 100) -> int:
    raw = request.query_params.get("limit", str(default))
    if not raw.isascii() or not raw.isdigit() or len(raw) > 5 or not 1 <= int(raw) <= 10_000:
        detail = f"limit={raw[:40]!r} must be a whole number from 1 to 10000"
        raise Problem(400, "bad-query", "Bad query", detail)
    return int(raw)


def _id(raw: str | None) -> int | None:
    """A job, entry or delivery id from the URL; None for text that is no id (no such one exists)."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_JOB_ID:
        return None
    return int(raw)


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before")
    before = _id(raw)
    if raw is not None and before is None:
        detail = f"before={raw[:40]!r} must be an id (a whole number below 2**63) from next_before"
        raise Problem(400, "bad-query", "Bad query", detail)
    return before


def _asked_session(request: Request) -> str | None:
    """The query's `session=`; Problem when it names two."""
    asked = list(dict.fromkeys(request.query_params.getlist("session")))
    if len(asked) > 1:
        shown = " and ".join(repr(value[:80]) for value in asked[:2])
        raise Problem(400, "bad-query", "Bad query", f"session= names two sessions: {shown}")
    return asked[0] if asked else None


def caller_session(request: Request) -> str:
    """The caller's session, for a call that changes one session's state (defaults, reset, rules):
    Problem for a bad or conflicting id, or for `?session=` naming another session (only a GET looks
    into another; a change meant for one must never land in the caller's session instead)."""
    own = request_session(request.scope, request.headers)
    asked = _asked_session(request)
    if asked is not None and asked != own:
        detail = (
            f"session={asked[:80]!r}: only a GET looks into another session; send this "
            f"{request.method} with X-Mixmock-Session or under /_session/<id>/"
        )
        raise Problem(400, "bad-query", "Bad query", detail)
    return own


def viewed_session(request: Request) -> str:
    """The session a GET shows: the caller's, or from the default session `?session=<id>`."""
    own = request_session(request.scope, request.headers)
    asked = _asked_session(request)
    if asked is None or asked == own:
        return own
    if own:
        detail = f"session={asked[:80]!r}: a session sees only itself; ask from the default session"
        raise Problem(400, "bad-query", "Bad query", detail)
    return check_session(asked, "query parameter session") if asked else asked


def _job_dict(job: Job) -> dict[str, Any]:
    data = dataclasses.asdict(job)
    data["image_job"]["params"] = dict(job.image_job.params)
    return data


def _json(data: Any) -> Response:
    return Response(json.dumps(data, default=str), media_type="application/json")


def _refusal(access: AdminAccess, request: Request) -> Problem | None:
    if access.state == "closed":
        return Problem(403, "admin-closed", "Admin API closed", access.why)
    if access.state == "token" and access.token is not None:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {access.token}".encode()):
            return Problem(
                401,
                "admin-unauthorized",
                "Admin token required",
                "send Authorization: Bearer <the configured admin token>",
                headers={"WWW-Authenticate": "Bearer"},
            )
    return None


def _guarded(admin: Admin, endpoint: Endpoint) -> Endpoint:
    async def guarded(request: Request) -> Response:
        refused = _refusal(admin.access, request)
        if refused is not None:
            return problem_response(refused)
        try:
            return await endpoint(request)
        except Problem as problem:
            return problem_response(problem)
        except StoreError as error:
            return problem_response(store_unavailable(error))

    return guarded


def admin_endpoint(admin: Admin, endpoint: Endpoint) -> Endpoint:
    """`endpoint` behind the admin API's access check, its problems rendered: for the admin routes that
    other modules serve beside these (`services/rules_api.py`)."""
    return _guarded(admin, endpoint)


async def _defaults_body(request: Request) -> Any:
    raw, problem = await read_limited(request.stream(), _DEFAULTS_BODY)
    if problem is None:
        body, problem = decode_json(raw, _DEFAULTS_BODY)
    if problem is not None:
        raise Problem(400, "bad-defaults", "Bad defaults", f"the body is not usable JSON: {problem}")
    return body


def _session_page(
    read: Callable[[int | None], Page[T]],
    keep: Callable[[T], bool],
    id_of: Callable[[T], int],
    limit: int,
    before: int | None,
) -> Page[T]:
    """A page of the items one session sees: store pages walked back until `limit` of them are found,
    at most SCAN_PAGES store pages per call (then `next_before` continues where the walk stopped). A
    store page whose items are all kept ends the walk: the store's own bound (PAGE_BYTES) holds."""
    found: list[T] = []
    for _ in range(SCAN_PAGES):
        page = read(before)
        kept = [item for item in page.items if keep(item)]
        found = kept + found
        before = page.next_before
        if before is None or len(found) >= limit or len(kept) == len(page.items):
            break
    if len(found) > limit:
        found = found[-limit:]
        before = id_of(found[0])
    return Page(found, before)


def _routes(admin: Admin) -> list[BaseRoute]:
    async def requests(request: Request) -> Response:
        pairs = [(name, value) for name, value in request.query_params.multi_items()]
        pairs = [(name, value) for name, value in pairs if name not in ("limit", "before", "session")]
        try:
            filters = parse_filters([*pairs, ("session", viewed_session(request))])
        except ValueError as error:
            raise Problem(400, "bad-query", "Bad query", str(error)) from None
        limit = _limit(request)
        entries = admin.journal.entries(filters, limit=limit, before=_before(request))
        older = entries[0].seq if len(entries) == limit else None
        return _json({"requests": [entry.as_dict() for entry in entries], "next_before": older})

    async def jobs(request: Request) -> Response:
        session, limit = viewed_session(request), _limit(request)
        page = _session_page(
            lambda before: admin.jobs.page(Window(limit, before)),
            lambda job: job.session == session,
            lambda job: job.id,
            limit,
            _before(request),
        )
        return _json({"jobs": [_job_dict(job) for job in page.items], "next_before": page.next_before})

    async def job(request: Request) -> Response:
        raw = request.path_params["job_id"]
        job_id = _id(raw)
        found = None if job_id is None else admin.jobs.get(job_id)
        if found is None or found.session != viewed_session(request):
            shown = raw if len(raw) <= 40 else f"{raw[:40]}... ({len(raw)} characters)"
            raise Problem(404, "no-job", "No such job", f"no job has id {shown!r}")
        return _json(_job_dict(found))

    async def webhooks(request: Request) -> Response:
        state = request.query_params.get("state")
        if state is not None and state not in get_args(DeliveryState):
            known = ", ".join(get_args(DeliveryState))
            raise Problem(400, "bad-query", "Bad query", f"state={state[:40]!r} is not one of {known}")
        session, limit = viewed_session(request), _limit(request)
        page = _session_page(
            lambda before: admin.deliveries.page(Window(limit, before), state),  # type: ignore[arg-type]
            lambda delivery: delivery.session == session,
            lambda delivery: delivery.id,
            limit,
            _before(request),
        )
        found = [delivery.as_dict() for delivery in page.items]
        return _json({"deliveries": found, "next_before": page.next_before})

    async def defaults(request: Request) -> Response:
        session = viewed_session(request) if request.method == "GET" else caller_session(request)
        if request.method == "PUT":
            body = await _defaults_body(request)
            try:
                admin.defaults.set(parse_defaults(body), session)
            except DefaultsError as error:
                raise Problem(400, "bad-defaults", "Bad defaults", str(error)) from None
        elif request.method == "DELETE":
            admin.defaults.clear(session)
        return _json(admin.defaults.get(session).as_dict())

    async def reset(request: Request) -> Response:
        session = caller_session(request)
        admin.journal.clear(session)
        admin.deliveries.clear(session)
        admin.defaults.clear(session)
        if admin.on_reset is not None:
            admin.on_reset(session)
        return _json({"reset": True, "session": session})

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
