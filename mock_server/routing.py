"""Stage 1: which operation a method and path name (a three-valued match, so 405 falls out of 404)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mock_server.contract import Operation
from mock_server.problems import method_not_allowed, no_route

__all__ = ["Match", "Routed", "route"]


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1  # the path matched, the method did not
    FULL = 2


@dataclass(frozen=True)
class Routed:
    operation: Operation
    path_params: Mapping[str, str]


def _match(operation: Operation, method: str, path: str) -> tuple[Match, Mapping[str, str]]:
    found = operation.pattern.match(path)
    if found is None:
        return Match.NONE, {}
    return (Match.FULL if operation.method == method else Match.PARTIAL), found.groupdict()


def route(operations: Sequence[Operation], method: str, path: str) -> Routed:
    """The operation for `method path`; raises the 404 or 405 mock fault when there is none."""
    allowed: list[str] = []
    for operation in operations:
        match, params = _match(operation, method, path)
        if match is Match.FULL:
            return Routed(operation, params)
        if match is Match.PARTIAL:
            allowed.append(operation.method)
    if allowed:
        raise method_not_allowed(method, path, sorted(set(allowed)))
    raise no_route(method, path)
