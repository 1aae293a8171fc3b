"""Stage 0: the client's choices, from `Prefer` headers (RFC 7240), parsed once per request.

Reply choices: `Prefer: scenario=processing, eta=4` · `example=error_rate_limit` · `code=429` ·
`polls=2`. Faults: `Prefer: latency=200ms` · `fault=drop` (`500`, `503`, `slow-body`, `none`).
Unknown preference names are ignored, as RFC 7240 asks; a known name with a bad value raises
`PreferenceError` naming the value (the pipeline answers it with a 400 problem).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from mock_server.parsing import parse_latency
from mock_server.services.faults import FAULTS, FaultChoice, FaultPreferences
from openapi.vocabulary import SCENARIOS, Scenario

__all__ = ["REPLY_CODES", "Prefer", "PreferenceError", "Preferences", "parse_prefer", "reply_preferences"]

REPLY_CODES = (200, 400, 401, 422, 429, 500, 503)


class PreferenceError(ValueError):
    """A known preference with a value the mock cannot use."""

    def __init__(self, name: str, value: Any, why: str, origin: str = "Prefer header") -> None:
        super().__init__(f"{origin}: {name}={value!r} {why}")
        self.name = name
        self.value = value


@dataclass(frozen=True)
class Preferences:
    """How the client wants the reply chosen."""

    scenario: Scenario | None = None
    example: str | None = None  # a named example of the operation's 200 reply
    code: int | None = None  # an HTTP status the operation declares
    eta: float | None = None  # seconds a processing job takes
    polls: int | None = None  # fetches answered `processing` before the job succeeds

    def over(self, fallback: Preferences) -> Preferences:
        """These preferences, with `fallback`'s values where these have none."""
        if fallback.empty:  # every request without run-time defaults
            return self
        if self.empty:  # every request without a Prefer header
            return fallback
        values = {name: getattr(self, name) for name in _PREFERENCE_NAMES}
        return Preferences(
            **{name: getattr(fallback, name) if v is None else v for name, v in values.items()}
        )

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in _PREFERENCE_NAMES)


_PREFERENCE_NAMES = tuple(f.name for f in dataclasses.fields(Preferences))


@dataclass(frozen=True)
class Prefer:
    """Everything a request's `Prefer` headers ask for."""

    reply: Preferences = field(default_factory=Preferences)
    faults: FaultPreferences = field(default_factory=FaultPreferences)

    def over(self, fallback: Prefer) -> Prefer:
        if self is _NOTHING:  # most requests ask for nothing (parse_prefer returns this one): the fallback
            return fallback
        return Prefer(self.reply.over(fallback.reply), self.faults.over(fallback.faults))


_NOTHING = Prefer()


def _scenario(value: Any) -> Scenario:
    if value not in SCENARIOS:
        raise ValueError(f"is not one of {', '.join(SCENARIOS)}")
    return cast(Scenario, value)


def _code(value: Any) -> int:
    try:
        code = int(value)
    except (TypeError, ValueError):
        raise ValueError("is not an HTTP status code") from None
    if code not in REPLY_CODES:
        raise ValueError(f"is not one of {', '.join(map(str, REPLY_CODES))}")
    return code


def _bounded(convert: Callable[[Any], float], low: float, high: float, kind: str, unit: str = "") -> Any:
    """A parser of numbers in [low, high]; `kind` words the value when it is no number at all."""

    def parse(value: Any) -> float:
        try:
            number = convert(value)
        except (TypeError, ValueError):
            raise ValueError(f"is not {kind}") from None
        if not math.isfinite(number) or not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g}{unit}")
        return number

    return parse


_eta = _bounded(float, 0, 86400, "a number of seconds", " seconds")
_polls = _bounded(int, 0, 1000, "a whole number")


def _example(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be the name of an example")
    return value


def _fault(value: Any) -> FaultChoice:
    if value not in (*FAULTS, "none"):
        raise ValueError(f"is not one of {', '.join((*FAULTS, 'none'))}")
    return cast(FaultChoice, value)


def _latency(value: Any) -> Any:
    try:
        return parse_latency(str(value))
    except ValueError as error:
        raise ValueError(f"is not usable: {error}") from None


_REPLY: Mapping[str, Callable[[Any], Any]] = {
    "scenario": _scenario,
    "code": _code,
    "eta": _eta,
    "polls": _polls,
    "example": _example,
}
_FAULTS: Mapping[str, Callable[[Any], Any]] = {"latency": _latency, "fault": _fault}


def _parsed(
    values: Mapping[str, Any], parsers: Mapping[str, Callable[[Any], Any]], origin: str
) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        parser = parsers.get(name)
        if parser is not None:
            try:
                parsed[name] = parser(value)
            except ValueError as error:
                raise PreferenceError(name, value, str(error), origin) from None
    return parsed


def reply_preferences(values: Mapping[str, Any], origin: str) -> Preferences:
    """Reply preferences from name/value pairs (a rules file's `then`); other names are ignored."""
    return Preferences(**_parsed(values, _REPLY, origin))


def _pairs(headers: Iterable[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for header in headers:
        for item in header.split(","):
            # A preference may carry parameters after ';' (RFC 7240); this mock uses none of them.
            name, _, value = item.split(";", 1)[0].strip().partition("=")
            if name.strip():
                pairs.setdefault(name.strip().lower(), value.strip().strip('"'))
    return pairs


def parse_prefer(headers: Iterable[str], origin: str = "Prefer header") -> Prefer:
    """Every `Prefer` header value of a request, read once (the first value of a name wins)."""
    pairs = _pairs(headers)
    if not pairs:
        return _NOTHING
    return Prefer(
        Preferences(**_parsed(pairs, _REPLY, origin)), FaultPreferences(**_parsed(pairs, _FAULTS, origin))
    )
