"""Stage 0: the client's choice of reply, from `Prefer` headers (RFC 7240).

`Prefer: scenario=processing, eta=4` · `Prefer: example=error_rate_limit` · `Prefer: code=429` ·
`Prefer: polls=2`. Unknown preference names are ignored, as RFC 7240 asks; a known name with a bad
value is a mock fault (400 problem+json) naming the value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from mock_server.problems import MockFault
from mock_server.settings import SCENARIOS

__all__ = ["Preferences", "Scenario", "bad_preference", "parse_preferences", "preferences_from_mapping"]

Scenario = Literal["success", "processing", "error", "failed"]
REPLY_CODES = (200, 400, 401, 422, 429, 500, 503)


@dataclass(frozen=True)
class Preferences:
    scenario: Scenario | None = None
    example: str | None = None  # a named example of the operation's 200 reply
    code: int | None = None  # an HTTP status the operation declares
    eta: float | None = None  # seconds a processing job takes
    polls: int | None = None  # fetches answered `processing` before the job succeeds

    def over(self, fallback: Preferences) -> Preferences:
        """These preferences, with `fallback`'s values where these have none."""
        values = {
            f.name: getattr(self, f.name) if getattr(self, f.name) is not None else getattr(fallback, f.name)
            for f in dataclasses.fields(self)
        }
        return Preferences(**values)

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in dataclasses.fields(self))


def bad_preference(name: str, value: Any, why: str, origin: str = "Prefer header") -> MockFault:
    return MockFault(400, "bad-preference", "Bad preference", f"{origin}: {name}={value!r} {why}")


def _scenario(value: str, origin: str) -> Scenario:
    if value not in SCENARIOS:
        raise bad_preference("scenario", value, f"is not one of {', '.join(SCENARIOS)}", origin)
    return cast(Scenario, value)


def _code(value: Any, origin: str) -> int:
    try:
        code = int(value)
    except (TypeError, ValueError):
        raise bad_preference("code", value, "is not an HTTP status code", origin) from None
    if code not in REPLY_CODES:
        raise bad_preference("code", value, f"is not one of {', '.join(map(str, REPLY_CODES))}", origin)
    return code


def _eta(value: Any, origin: str) -> float:
    try:
        eta = float(value)
    except (TypeError, ValueError):
        raise bad_preference("eta", value, "is not a number of seconds", origin) from None
    if not math.isfinite(eta) or not 0 <= eta <= 86400:
        raise bad_preference("eta", value, "must be between 0 and 86400 seconds", origin)
    return eta


def _polls(value: Any, origin: str) -> int:
    try:
        polls = int(value)
    except (TypeError, ValueError):
        raise bad_preference("polls", value, "is not a whole number", origin) from None
    if not 0 <= polls <= 1000:
        raise bad_preference("polls", value, "must be between 0 and 1000", origin)
    return polls


def _example(value: Any, origin: str) -> str:
    if not isinstance(value, str) or not value:
        raise bad_preference("example", value, "must be the name of an example", origin)
    return value


_PARSERS: Mapping[str, Callable[[Any, str], Any]] = {
    "scenario": _scenario,
    "code": _code,
    "eta": _eta,
    "polls": _polls,
    "example": _example,
}


def preferences_from_mapping(values: Mapping[str, Any], origin: str) -> Preferences:
    """Typed preferences from name/value pairs (a Prefer header, or a rules file's `then`)."""
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        parser = _PARSERS.get(name)
        if parser is not None:
            parsed[name] = parser(value, origin)
    return Preferences(**parsed)


def _pairs(headers: Iterable[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for header in headers:
        for item in header.split(","):
            # A preference may carry parameters after ';' (RFC 7240); this mock uses none of them.
            token = item.split(";", 1)[0].strip()
            if not token:
                continue
            name, _, value = token.partition("=")
            pairs.setdefault(name.strip().lower(), value.strip().strip('"'))
    return pairs


def parse_preferences(headers: Iterable[str]) -> Preferences:
    """Preferences from every `Prefer` header value of a request (the first value of a name wins)."""
    return preferences_from_mapping(_pairs(headers), "Prefer header")
