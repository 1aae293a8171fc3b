"""Mock faults: what goes wrong with the mock itself (no route, a bad Prefer value, a self-violation).

Contract errors are the vendor's envelope and never pass through here; mock faults are
`application/problem+json` (RFC 9457), raised as `MockFault` and rendered by `problem_response` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

__all__ = ["MockFault", "problem_response"]

PROBLEM_BASE = "urn:mixmock:problem:"


class MockFault(Exception):  # noqa: N818 - "mock fault" is the design's term
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


def no_route(method: str, path: str) -> MockFault:
    return MockFault(404, "no-route", "No route", f"no operation in the specs matches {method} {path}")


def method_not_allowed(method: str, path: str, allowed: Sequence[str]) -> MockFault:
    return MockFault(
        405,
        "method-not-allowed",
        "Method not allowed",
        f"{path} accepts {', '.join(allowed)}, not {method}",
        headers={"Allow": ", ".join(allowed)},
    )


def problem_response(fault: MockFault) -> Response:
    body = {
        "type": PROBLEM_BASE + fault.slug,
        "title": fault.title,
        "status": fault.status,
        "detail": fault.detail,
        **fault.extra,
    }
    return Response(
        json.dumps(body),
        status_code=fault.status,
        headers=fault.headers,
        media_type="application/problem+json",
    )
