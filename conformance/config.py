"""What one audit run is asked to do, checked before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import openapi
from conformance.inputs import image_url_problem

__all__ = ["TIERS", "AuditConfig", "ConfigError"]

TIERS = ("smoke", "ranges", "full", "stateful")


class ConfigError(ValueError):
    """A setting the audit cannot use; the message names the setting and the value."""


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
    http_timeout: float = 30.0
    prefer: str = "scenario=processing"  # Prefer header of the stateful tier's submit; "" sends none
    image_url: str | None = None  # replaces the pages' image URLs in every body (an offline target)

    def __post_init__(self) -> None:
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
        if not self.key:
            raise ConfigError("no API key: pass --key or set MIXMOCK_AUDIT_KEY")
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
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ConfigError(f"--rate-limit {self.rate_limit} must be more than 0 requests per second")
        for name in ("webhook_timeout", "job_timeout", "poll_interval", "http_timeout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} {getattr(self, name)} must not be negative")
        if self.image_url is not None and (problem := image_url_problem(self.image_url)) is not None:
            shown = self.image_url if len(self.image_url) <= 60 else self.image_url[:57] + "..."
            raise ConfigError(f"--image-url {shown!r} {problem}")
        if self.fuzz_examples < 1:
            raise ConfigError(f"fuzz_examples {self.fuzz_examples} must be at least 1")

    @property
    def origin(self) -> str:
        return self.base_url.rstrip("/")
