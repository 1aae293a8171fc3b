"""Faults on purpose: latency, 5xx replies, dropped connections and slow bodies, seeded or per request.

Globally from the configuration (`latency = "lognormal:200ms:0.5"`, `faults = "drop=0.01,503=0.02"`,
`fault_seed = 7`), or per request with `Prefer: latency=200ms`, `Prefer: fault=drop` (`500`, `503`,
`slow-body`, `none`). A request's preference wins over the configured distribution.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mock_server.preferences import bad_preference

__all__ = [
    "FAULTS",
    "DroppedConnectionError",
    "DroppedResponse",
    "FaultConfig",
    "FaultInjector",
    "FaultPlan",
    "FaultPreferences",
    "Latency",
    "SlowBodyResponse",
    "deliver",
    "fault_preferences",
    "parse_duration",
    "parse_fault_rates",
    "parse_latency",
    "quiet_dropped_connections",
]

Fault = Literal["500", "503", "drop", "slow-body"]
_FaultChoice = Fault | Literal["none"] | None  # evaluated once, not on every request
FAULTS: tuple[Fault, ...] = ("500", "503", "drop", "slow-body")
MAX_LATENCY_S = 300.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds from `200ms`, `1.5s` or a bare number of seconds; ValueError naming the text otherwise."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration (e.g. 200ms, 1.5s)")
    value = float(found.group(1)) / (1000.0 if found.group(2) == "ms" else 1.0)
    if value > MAX_LATENCY_S:
        raise ValueError(f"{text!r} is longer than {MAX_LATENCY_S:g} s")
    return value


@dataclass(frozen=True)
class Latency:
    """A delay distribution: `fixed` (a), `uniform` (a to b) or `lognormal` (median a, sigma b)."""

    kind: Literal["fixed", "uniform", "lognormal"]
    a: float
    b: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        return min(MAX_LATENCY_S, rng.lognormvariate(math.log(self.a), self.b)) if self.a > 0 else 0.0


def parse_latency(text: str) -> Latency:
    """`200ms` · `uniform:100ms:300ms` · `lognormal:200ms:0.5`; ValueError naming the text otherwise."""
    kind, _, rest = text.strip().partition(":")
    if not rest:
        return Latency("fixed", parse_duration(kind))
    parts = rest.split(":")
    if kind == "uniform" and len(parts) == 2:
        low, high = parse_duration(parts[0]), parse_duration(parts[1])
        if low > high:
            raise ValueError(f"{text!r}: the low bound is above the high bound")
        return Latency("uniform", low, high)
    if kind == "lognormal" and len(parts) == 2:
        try:
            sigma = float(parts[1])
        except ValueError:
            raise ValueError(f"{text!r}: sigma {parts[1]!r} is not a number") from None
        if not 0 <= sigma <= 5:
            raise ValueError(f"{text!r}: sigma must be between 0 and 5")
        return Latency("lognormal", parse_duration(parts[0]), sigma)
    raise ValueError(f"{text!r} is not a latency (200ms, uniform:100ms:300ms, lognormal:200ms:0.5)")


def parse_fault_rates(raw: str | Mapping[str, float]) -> dict[Fault, float]:
    """`drop=0.01,503=0.02` or a mapping, checked: known faults, shares in [0, 1] adding up to at most 1."""
    pairs: Mapping[str, object]
    if isinstance(raw, str):
        items = [part.split("=", 1) for part in raw.split(",") if part.strip()]
        if any(len(item) != 2 for item in items):
            raise ValueError(f"{raw!r}: expected fault=share pairs, e.g. drop=0.01,503=0.02")
        pairs = {name.strip(): value.strip() for name, value in items}
    else:
        pairs = raw
    rates: dict[Fault, float] = {}
    for name, value in pairs.items():
        if name not in FAULTS:
            raise ValueError(f"{name!r} is not a fault; faults: {', '.join(FAULTS)}")
        try:
            share = float(cast(str, value))
        except (TypeError, ValueError):
            raise ValueError(f"{name}={value!r}: the share is not a number") from None
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name}={value!r}: the share must be between 0 and 1")
        rates[name] = share
    if sum(rates.values()) > 1.0 + 1e-9:
        raise ValueError(f"{raw!r}: the shares add up to more than 1")
    return rates


@dataclass(frozen=True)
class FaultConfig:
    latency: Latency | None = None
    rates: Mapping[Fault, float] = field(default_factory=dict)
    seed: int = 0
    slow_body_s: float = 2.0  # how long a slow body takes to arrive in full


@dataclass(frozen=True)
class FaultPreferences:
    latency: Latency | None = None
    fault: Fault | Literal["none"] | None = None


@dataclass(frozen=True)
class FaultPlan:
    """What happens to one reply on its way out."""

    latency_s: float = 0.0
    fault: Fault | None = None
    reason: str = "none"  # "prefer", "config" or "none": journaled with the reply

    @property
    def status_code(self) -> int | None:
        return int(self.fault) if self.fault in {"500", "503"} else None


def _prefer_pairs(headers: Iterable[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for header in headers:
        for item in header.split(","):
            name, _, value = item.split(";", 1)[0].strip().partition("=")
            if name.strip():
                pairs.setdefault(name.strip().lower(), value.strip().strip('"'))
    return pairs


def fault_preferences(headers: Iterable[str]) -> FaultPreferences:
    """The fault preferences of a request's `Prefer` headers; a bad value is a 400 mock fault."""
    pairs = _prefer_pairs(headers)
    latency = None
    if "latency" in pairs:
        try:
            latency = parse_latency(pairs["latency"])
        except ValueError as error:
            raise bad_preference("latency", pairs["latency"], f"is not usable: {error}") from None
    fault = pairs.get("fault")
    if fault is not None and fault not in (*FAULTS, "none"):
        raise bad_preference("fault", fault, f"is not one of {', '.join((*FAULTS, 'none'))}")
    return FaultPreferences(latency, cast(_FaultChoice, fault))


class FaultInjector:
    """Draws each request's plan from one seeded generator: the same request order gives the same faults."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)

    def plan(self, preferences: FaultPreferences) -> FaultPlan:
        latency = preferences.latency or self.config.latency
        delay = latency.sample(self._rng) if latency is not None else 0.0
        if preferences.fault is not None:
            fault = None if preferences.fault == "none" else preferences.fault
            return FaultPlan(delay, fault, "prefer")
        draw, total = self._rng.random(), 0.0
        for name, share in self.config.rates.items():
            total += share
            if draw < total:
                return FaultPlan(delay, name, "config")
        return FaultPlan(delay, None, "prefer" if preferences.latency is not None else "none")

    def reset(self) -> None:
        self._rng = random.Random(self.config.seed)


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
