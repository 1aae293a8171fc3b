"""What one audit run is asked to do, checked before anything is sent."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

import openapi
from conformance.inputs import image_url_problem
from conformance.sources import FAIL_ON

__all__ = ["TIERS", "AuditConfig", "ConfigError"]

TIERS = ("smoke", "ranges", "full", "stateful")
_DAY = 86400.0
_SLOWEST_RATE = 1 / 3600  # requests per second: below one an hour, a run would never end


class ConfigError(ValueError):
    """A setting the audit cannot use; the message names the setting and the value."""


def _seconds(flag: str, value: float, *, most: float = _DAY, allow_zero: bool = True) -> None:
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero) or value > most:
        low = "0" if allow_zero else "more than 0"
        raise ConfigError(f"{flag} {value!r} must be a number of seconds from {low} to {most:g}")


@dataclass(frozen=True)
class AuditConfig:
    base_url: str  # an origin: each spec's server path (/api/v6...) is kept under it
    key: str
    tiers: tuple[str, ...] = ("smoke", "ranges")
    budget: int | None = None  # hard cap on requests sent, polls and downloads included
    rate_limit: float | None = None  # requests per second
    seed: int = 0
    specs: tuple[str, ...] = ()  # empty: every spec
    operations: tuple[str, ...] = ()  # operationIds; empty: every operation of the chosen specs
    webhooks: bool = False
    webhook_host: str = "127.0.0.1"  # the name the target uses to reach the audit's receiver
    webhook_bind: str = "127.0.0.1"
    webhook_timeout: float = 30.0
    fuzz_examples: int = 10  # per operation and generation mode, in the full tier
    job_timeout: float = 60.0
    poll_interval: float = 1.0
    http_timeout: float = 30.0  # one exchange, all of it: connect, headers and the whole body
    max_time: float | None = None  # the whole run; past it the run stops, incomplete
    prefer: str = "scenario=processing"  # Prefer header of queued jobs (stateful, webhooks); "" sends none
    image_url: str | None = None  # replaces the pages' image URLs in every body (an offline target)
    download_hosts: tuple[str, ...] = ()  # hosts besides the audited origin that images may come from
    fail_on: str = "documented"  # which findings fail the run: documented constraints, or inferred too
    dry_run: bool = False  # list what would be sent; send nothing

    def __post_init__(self) -> None:
        self._check_target()
        for tier in self.tiers:
            if tier not in TIERS:
                raise ConfigError(f"--tier {tier!r} is not one of {', '.join(TIERS)}")
        if not self.tiers:
            raise ConfigError("--tier names no tier")
        for name in self.specs:
            if name not in openapi.SPECS:
                raise ConfigError(f"--specs {name!r} is not one of {', '.join(openapi.SPECS)}")
        if self.budget is not None and self.budget < 1:
            raise ConfigError(f"--budget {self.budget} must be at least 1")
        if self.rate_limit is not None and (
            not math.isfinite(self.rate_limit) or self.rate_limit < _SLOWEST_RATE
        ):
            raise ConfigError(
                f"--rate-limit {self.rate_limit!r} must be a number of requests per second of at least "
                f"{_SLOWEST_RATE:.6f} (one an hour)"
            )
        self._check_times()
        if self.image_url is not None and (problem := image_url_problem(self.image_url)) is not None:
            shown = self.image_url if len(self.image_url) <= 60 else self.image_url[:57] + "..."
            raise ConfigError(f"--image-url {shown!r} {problem}")
        if not 1 <= self.fuzz_examples <= 10000:
            raise ConfigError(f"--fuzz-examples {self.fuzz_examples} must be from 1 to 10000")
        if self.fail_on not in FAIL_ON:
            raise ConfigError(f"--fail-on {self.fail_on!r} is not one of {', '.join(FAIL_ON)}")

    def _check_target(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(
                f"--base-url {self.base_url!r} is not an http(s) origin like http://127.0.0.1:8000"
            )
        if parts.path.strip("/") or parts.query:
            raise ConfigError(
                f"--base-url {self.base_url!r} must be an origin without a path: each spec's own path "
                "(/api/v6, /api/v1/enterprise, /api/v5) is added to it"
            )
        if not self.key and not self.dry_run:
            raise ConfigError("no API key: pass --key or set MIXMOCK_AUDIT_KEY")

    def _check_times(self) -> None:
        _seconds("--webhook-timeout", self.webhook_timeout)
        _seconds("--job-timeout", self.job_timeout)
        _seconds("--poll-interval", self.poll_interval)
        _seconds("--timeout", self.http_timeout, allow_zero=False)
        if self.max_time is not None:
            _seconds("--max-time", self.max_time, most=7 * _DAY, allow_zero=False)

    @property
    def origin(self) -> str:
        return self.base_url.rstrip("/")
