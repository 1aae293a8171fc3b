"""Values a person writes (durations, latency distributions, shares, host lists), each parsed once.

Settings, the `Prefer` header, the admin API and the rules file all read these; every parser raises a
plain ValueError naming the text, and its caller says where the text came from (a setting is a usage
error, a request header is a 400 problem).
"""

from __future__ import annotations

import ipaddress
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_LATENCY_S",
    "HostAllowList",
    "Latency",
    "parse_duration",
    "parse_latency",
    "parse_shares",
]

MAX_LATENCY_S = 300.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_duration(text: str) -> float:
    """Seconds from `200ms`, `1.5s` or a bare number of seconds."""
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
    """`200ms` · `uniform:100ms:300ms` · `lognormal:200ms:0.5`."""
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


def _share(name: str, value: object) -> float:
    shown = f"{name}={value}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{shown}: the share is not a number")
    try:
        share = float(value)
    except ValueError:
        raise ValueError(f"{shown}: the share is not a number") from None
    if not 0.0 <= share <= 1.0:  # also refuses nan
        raise ValueError(f"{shown}: the share must be between 0 and 1")
    return share


def parse_shares(raw: str | Mapping[str, object], allowed: Sequence[str], what: str) -> dict[str, float]:
    """`processing=0.3,failed=0.05` (or a mapping) of `allowed` names, shares in [0, 1] adding up to <= 1.

    `what` names the kind of name in messages ("scenario", "fault").
    """
    pairs: Mapping[str, object]
    if isinstance(raw, str):
        items = [part.split("=", 1) for part in raw.split(",") if part.strip()]
        if any(len(item) != 2 for item in items):
            raise ValueError(f"{raw!r}: expected {what}=share pairs, e.g. {allowed[0]}=0.1")
        pairs = {name.strip(): value.strip() for name, value in items}
    elif isinstance(raw, Mapping):
        pairs = raw
    else:
        raise ValueError(f"{raw!r}: expected {what}=share pairs, e.g. {allowed[0]}=0.1")
    shares: dict[str, float] = {}
    for name, value in pairs.items():
        if name not in allowed:
            raise ValueError(f"{name!r} is not a {what}; {what}s: {', '.join(allowed)}")
        shares[str(name)] = _share(name, value)
    if sum(shares.values()) > 1.0 + 1e-9:
        raise ValueError(f"{raw!r}: the shares add up to more than 1")
    return shares


@dataclass(frozen=True)
class HostAllowList:
    """Hosts a feature may reach: names (`localhost`), `*.suffix`, IP networks (`127.0.0.0/8`), or `*`."""

    entries: tuple[str, ...]
    names: frozenset[str]
    suffixes: tuple[str, ...]
    networks: tuple[IPNetwork, ...]
    any: bool

    @classmethod
    def parse(cls, entries: Iterable[str], what: str = "host") -> HostAllowList:
        """The list, or ValueError naming the bad entry (`what` says which list, in the message)."""
        kept = tuple(entries)
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        anything = False
        for entry in kept:
            text = entry.strip().lower().rstrip(".")
            if not text:
                raise ValueError(f"{what} {entry!r} is empty")
            if text == "*":
                anything = True
            elif text.startswith("*."):
                suffixes.append(text[1:])
            else:
                try:
                    networks.append(ipaddress.ip_network(text, strict=False))
                except ValueError:
                    if "/" in text or " " in text or "*" in text:
                        raise ValueError(
                            f"{what} {entry!r} is neither a host name nor an IP network"
                        ) from None
                    names.add(text)
        return cls(kept, frozenset(names), tuple(suffixes), tuple(networks), anything)

    def allows_name(self, host: str) -> bool:
        """The host as written in a URL (never resolved): a listed name, suffix or IP literal."""
        text = host.lower().rstrip(".")
        if self.any or text in self.names or any(text.endswith(suffix) for suffix in self.suffixes):
            return True
        try:
            return self.allows_address(ipaddress.ip_address(text.strip("[]")))
        except ValueError:
            return False

    def allows_address(self, address: IPAddress) -> bool:
        return self.any or any(address in net for net in self.networks if net.version == address.version)
