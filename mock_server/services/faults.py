"""Faults on purpose: latency, 5xx replies, dropped connections and slow bodies, seeded or per request.

Globally from the configuration (`latency = "lognormal:200ms:0.5"`, `faults = "drop=0.01,503=0.02"`,
`fault_seed = 7`), or per request with `Prefer: latency=200ms`, `Prefer: fault=drop` (`500`, `503`,
`slow-body`, `none`). A request's preference wins over the configured distribution.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mock_server.parsing import Latency
from mock_server.sessions import DEFAULT_SESSION, SessionRandoms

__all__ = [
    "FAULTS",
    "DroppedConnectionError",
    "DroppedResponse",
    "Fault",
    "FaultChoice",
    "FaultConfig",
    "FaultInjector",
    "FaultPlan",
    "FaultPreferences",
    "SlowBodyResponse",
    "deliver",
    "quiet_dropped_connections",
]

Fault = Literal["500", "503", "drop", "slow-body"]
FaultChoice = Fault | Literal["none"]
FAULTS: tuple[Fault, ...] = get_args(Fault)


@dataclass(frozen=True)
class FaultConfig:
    latency: Latency | None = None
    rates: Mapping[str, float] = field(default_factory=dict)  # fault name -> share, names checked
    seed: int = 0
    slow_body_s: float = 2.0  # how long a slow body takes to arrive in full


@dataclass(frozen=True)
class FaultPreferences:
    """A request's (or the run-time defaults') wishes; parsed from `Prefer` by the pipeline."""

    latency: Latency | None = None
    fault: FaultChoice | None = None

    def over(self, fallback: FaultPreferences) -> FaultPreferences:
        return FaultPreferences(
            self.latency if self.latency is not None else fallback.latency,
            self.fault if self.fault is not None else fallback.fault,
        )


@dataclass(frozen=True)
class FaultPlan:
    """What happens to one reply on its way out."""

    latency_s: float = 0.0
    fault: Fault | None = None
    reason: str = "none"  # "prefer", "config" or "none": journaled with the reply

    @property
    def status_code(self) -> int | None:
        return int(self.fault) if self.fault in {"500", "503"} else None


class FaultInjector:
    """Draws each request's plan from its session's seeded generator (`sessions.SessionRandoms`): the
    same request order in a session gives the same faults, whatever other sessions send."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._randoms = SessionRandoms(config.seed)

    def plan(self, preferences: FaultPreferences, session: str = DEFAULT_SESSION) -> FaultPlan:
        rng = self._randoms.get(session)
        latency = preferences.latency or self.config.latency
        delay = latency.sample(rng) if latency is not None else 0.0
        if preferences.fault is not None:
            fault = None if preferences.fault == "none" else preferences.fault
            return FaultPlan(delay, fault, "prefer")
        draw, total = rng.random(), 0.0
        for name, share in self.config.rates.items():
            total += share
            if draw < total:
                return FaultPlan(delay, cast(Fault, name), "config")
        return FaultPlan(delay, None, "prefer" if preferences.latency is not None else "none")

    def reset(self, session: str = DEFAULT_SESSION) -> None:
        """Start the session's draws over."""
        self._randoms.reset(session)


class DroppedConnectionError(Exception):
    """Raised mid-reply so the server closes the connection; the client sees an incomplete response."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnectionError))


def quiet_dropped_connections(logger_name: str = "uvicorn.error") -> None:
    """Keep the server log free of tracebacks for connections dropped on purpose."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, _QuietDrops) for existing in logger.filters):
        logger.addFilter(_QuietDrops())


class DroppedResponse(Response):
    """Announces a reply, sends part of it, then drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        half = len(self.body) // 2
        await send({"type": "http.response.body", "body": self.body[:half], "more_body": True})
        raise DroppedConnectionError(f"fault=drop: connection dropped after {half} of {len(self.body)} bytes")


class SlowBodyResponse(Response):
    """Sends its body in small chunks spread over `duration_s`, as a congested link would."""

    def __init__(
        self, content: bytes | memoryview, duration_s: float, chunks: int = 10, **kwargs: object
    ) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self.duration_s = duration_s
        self.chunks = max(1, chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        size = max(1, math.ceil(len(self.body) / self.chunks))
        pieces = [self.body[start : start + size] for start in range(0, len(self.body), size)] or [b""]
        for index, piece in enumerate(pieces):
            await asyncio.sleep(self.duration_s / len(pieces))
            await send({"type": "http.response.body", "body": piece, "more_body": index < len(pieces) - 1})


def deliver(response: Response, plan: FaultPlan, slow_body_s: float) -> Response:
    """The reply as the plan sends it: unchanged, dropped half way, or dribbled out slowly."""
    if plan.fault not in ("drop", "slow-body"):
        return response
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in response.raw_headers
        if name != b"content-length"  # recomputed from the body
    }
    if plan.fault == "drop":
        return DroppedResponse(response.body, status_code=response.status_code, headers=headers)
    return SlowBodyResponse(response.body, slow_body_s, status_code=response.status_code, headers=headers)
