"""Problems: what goes wrong with the mock itself (no route, a bad Prefer value, a self-violation).

Contract errors are the vendor's envelope and never pass through here; the mock's own problems are
`application/problem+json` (RFC 9457), raised as `Problem` and rendered by `problem_response` only.
("Faults" are something else: the failures a user asks the mock to inject, `services/faults.py`.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

__all__ = ["Problem", "problem_response", "store_unavailable"]

PROBLEM_BASE = "urn:mixmock:problem:"


class Problem(Exception):  # noqa: N818 - RFC 9457 calls it a problem
    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def no_route(method: str, path: str) -> Problem:
    return Problem(404, "no-route", "No route", f"no operation in the specs matches {method} {path}")


def method_not_allowed(method: str, path: str, allowed: Sequence[str]) -> Problem:
    return Problem(
        405,
        "method-not-allowed",
        "Method not allowed",
        f"{path} accepts {', '.join(allowed)}, not {method}",
        headers={"Allow": ", ".join(allowed)},
    )


def store_unavailable(error: Exception) -> Problem:
    """A store failure where no vendor reply fits (admin, output files, a route without a 503 reply)."""
    return Problem(503, "store-unavailable", "Store unavailable", str(error), headers={"Retry-After": "1"})


def problem_response(problem: Problem) -> Response:
    body = {
        "type": PROBLEM_BASE + problem.slug,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    return Response(
        json.dumps(body),
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/problem+json",
    )
