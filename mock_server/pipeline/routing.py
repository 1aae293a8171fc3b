"""Stage 1: which operation a method and path name (a three-valued match, so 405 falls out of 404).

Routes are each spec's server path plus its paths; the only hand-written entry is `ALIASES`, the
vendor's documented legacy generic fetch, which no spec of ours declares.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mock_server.problems import method_not_allowed, no_route
from openapi.operations import Operation, load_operations

__all__ = ["ALIASES", "Match", "Route", "Routed", "route", "route_table"]

# Extra paths served by an existing operation: (path under the origin, spec name, operationId).
ALIASES: Sequence[tuple[str, str, str]] = (("/api/v3/fetch/{id}", "v5", "fetch_v5"),)


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1  # the path matched, the method did not
    FULL = 2


@dataclass(frozen=True)
class Route:
    operation: Operation
    path: str  # the path template under the origin
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Routed:
    operation: Operation
    path_params: Mapping[str, str]


def _pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{regex}$")


def route_table(operations: Sequence[Operation] | None = None) -> tuple[Route, ...]:
    """A route per operation (all of the specs' by default) at its full path, plus the aliases."""
    operations = load_operations() if operations is None else operations
    routes = [
        Route(operation, operation.full_path, _pattern(operation.full_path)) for operation in operations
    ]
    by_id = {(operation.spec, operation.operation_id): operation for operation in operations}
    for alias, spec, operation_id in ALIASES:
        target = by_id.get((spec, operation_id))
        if target is not None:
            routes.append(Route(target, alias, _pattern(alias)))
    return tuple(routes)


def _match(entry: Route, method: str, path: str) -> tuple[Match, Mapping[str, str]]:
    found = entry.pattern.match(path)
    if found is None:
        return Match.NONE, {}
    return (Match.FULL if entry.operation.method == method else Match.PARTIAL), found.groupdict()


def route(routes: Sequence[Route], method: str, path: str) -> Routed:
    """The operation for `method path`; raises the 404 or 405 problem when there is none."""
    allowed: list[str] = []
    for entry in routes:
        match, params = _match(entry, method, path)
        if match is Match.FULL:
            return Routed(entry.operation, params)
        if match is Match.PARTIAL:
            allowed.append(entry.operation.method)
    if allowed:
        raise method_not_allowed(method, path, sorted(set(allowed)))
    raise no_route(method, path)
