"""`/_mixmock/rules`: reply rules added, listed, replaced and removed while the mock runs.

GET    /_mixmock/rules          every rule in match order (run-time, then the file's), the precedence,
                                and the rules file's state (path, rule count, the last reload's error)
POST   /_mixmock/rules          add one run-time rule (matched after the run-time rules before it): 201
PUT    /_mixmock/rules          replace every run-time rule: a list, or {"rules": [...]}
DELETE /_mixmock/rules          remove every run-time rule
GET    /_mixmock/rules/{key}    one rule, by id (r3, file-2) or name
DELETE /_mixmock/rules/{key}    remove one run-time rule (a file's rule is removed by editing the file)

A rule is the rules file's rule as JSON: {"name": ..., "operation": ..., "when": {...}, "then": {...}}.
A bad one is a 400 problem whose `field` names the rule's key to blame (`then.scenario`). Access is the
admin API's (`services/admin.py`): the same token, the same problems.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mock_server.pipeline.limits import BodyLimits, decode_json, read_limited
from mock_server.pipeline.scenario_rules import RulesError
from mock_server.problems import Problem
from mock_server.services.admin import caller_session, viewed_session
from mock_server.services.rule_book import RuleBook
from mock_server.services.rules import MAX_RULE_BYTES, RuleConflictError
from mock_server.sessions import path_prefix

__all__ = ["rules_routes"]

Endpoint = Callable[[Request], Awaitable[Response]]
_ONE = BodyLimits(max_bytes=2 * MAX_RULE_BYTES, max_depth=16, max_nodes=5_000)  # a POST body
_ALL = BodyLimits(max_bytes=1 << 20, max_depth=16, max_nodes=200_000)  # a PUT body


async def _body(request: Request, limits: BodyLimits) -> Any:
    raw, too_large = await read_limited(request.stream(), limits)
    if too_large is not None:
        raise Problem(413, "rules-too-large", "Rules too large", too_large)
    value, why = decode_json(raw, limits)
    if why is not None:
        raise Problem(400, "bad-rule", "Bad rule", why)
    return value


def _bad(error: RulesError) -> Problem:
    if isinstance(error, RuleConflictError):
        return Problem(409, "rule-conflict", "Rule name taken", str(error), extra={"field": error.field})
    return Problem(400, "bad-rule", "Bad rule", str(error), extra={"field": error.field})


def _not_found(key: str) -> Problem:
    return Problem(404, "no-rule", "No such rule", f"no rule has the id or name {key[:200]!r}")


def rules_routes(book: RuleBook, prefix: str, guard: Callable[[Endpoint], Endpoint]) -> list[BaseRoute]:
    """The routes at `{prefix}/rules`, each behind `guard` (the admin API's access check)."""

    async def collection(request: Request) -> Response:
        session = viewed_session(request) if request.method == "GET" else caller_session(request)
        try:
            if request.method == "POST":
                added = book.run_time.add(await _body(request, _ONE), session)
                location = f"{path_prefix(session)}{prefix}/rules/{added['id']}"  # followed, still in it
                return JSONResponse({"source": "api", **added}, 201, headers={"Location": location})
            if request.method == "PUT":
                book.run_time.replace(await _body(request, _ALL), session)
            elif request.method == "DELETE":
                book.run_time.clear(session)
        except RulesError as error:
            raise _bad(error) from None
        return JSONResponse(book.state(session))

    async def one(request: Request) -> Response:
        key: str = request.path_params["key"]
        session = viewed_session(request) if request.method == "GET" else caller_session(request)
        found = book.find(key, session)
        if found is None:
            raise _not_found(key)
        if request.method == "DELETE":
            if found["source"] == "file":
                detail = f"rule {key[:200]!r} comes from the rules file {book.file.path}: edit the file"
                raise Problem(409, "file-rule", "Rule from the rules file", detail)
            if (
                book.run_time.remove(found["id"], session) is None
            ):  # removed through another process meanwhile
                raise _not_found(key)
        return JSONResponse(found)

    return [
        Route(f"{prefix}/rules", guard(collection), methods=["GET", "POST", "PUT", "DELETE"]),
        Route(f"{prefix}/rules/{{key:path}}", guard(one), methods=["GET", "DELETE"]),
    ]
