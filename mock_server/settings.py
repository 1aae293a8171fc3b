"""Every setting of the mock, and the one place that merges their sources.

Precedence, lowest first: defaults < config file (YAML or TOML) < environment (`MIXMOCK_*`) < command line.
Each source is checked against the same table, so a bad value fails early with its name and origin.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = [
    "ENV_PREFIX",
    "SCENARIOS",
    "Settings",
    "SettingsError",
    "load_settings",
    "settings_from_json",
    "settings_to_json",
]

ENV_PREFIX = "MIXMOCK_"
SCENARIOS = ("success", "processing", "error", "failed")
Profile = Literal["documented", "observed"]
ErrorStatus = Literal["vendor", "rest"]


class SettingsError(ValueError):
    """A setting has a value the mock cannot use; the message names the setting, the value and its source."""


def default_store_path() -> str:
    """A fresh SQLite file per server launch, so ids start at 1 unless a store is named explicitly."""
    folder = Path(tempfile.gettempdir()) / "mixmock"
    return str(folder / f"jobs-{os.getpid()}-{os.urandom(4).hex()}.sqlite3")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    api_keys: frozenset[str] = frozenset()  # empty: any non-empty key is accepted
    api_keys_file: str | None = None
    profile: Profile = "documented"
    quirks: tuple[str, ...] = ()  # observed profile: the quirks to apply; empty = all of them
    error_status: ErrorStatus = "vendor"
    store: str = field(default_factory=default_store_path)
    seed: int = 0
    ratios: Mapping[str, float] = field(default_factory=dict)  # scenario -> share of create requests
    rules_file: str | None = None
    default_eta: float = 5.0
    processing_polls: int | None = None  # processing jobs finish after this many fetches, not by time
    strict: bool = False
    engine: str = "synthetic"
    model_dir: str | None = None
    device: str | None = None
    dtype: str = "auto"
    mixing: str = "community"
    max_batch: int = 4  # diffusers engine: samples batched into one forward pass; 1 = reproducible bits
    allow_hosts: tuple[str, ...] = ()
    queue_threshold_s: float = 10.0
    public_url: str | None = None
    image_cache_size: int = 64
    access_log: bool = True
    # CI features: webhooks, faults, the admin API, expiry and input limits
    webhook_allow_hosts: tuple[str, ...] = ("localhost", "127.0.0.0/8", "::1")
    webhook_retry_s: float = 300.0
    latency: str | None = None  # "200ms", "uniform:100ms:300ms", "lognormal:200ms:0.5"
    faults: Mapping[str, float] = field(default_factory=dict)  # "drop=0.01,503=0.02"
    fault_seed: int = 0
    slow_body_s: float = 2.0
    queue_limit: int | None = None  # pending jobs per key before the vendor's rate-limit reply
    failed_job_rate: float = 0.0  # share of queued jobs that end failed
    admin: bool = True
    admin_token: str | None = None
    job_ttl_s: float = 86400.0
    purge_every_s: float = 60.0
    max_body_bytes: int = 1 << 20
    journal_size: int = 10_000


# ---- converters: each takes a raw value (str from env/CLI, or a YAML/TOML value) and returns a typed one


def _text(raw: Any) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError("expected a string")
    return str(raw)


def _optional_text(raw: Any) -> str | None:
    return None if raw is None or raw == "" else _text(raw)


def _int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected an integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        return int(raw.strip())
    raise ValueError("expected an integer")


def _optional_int(raw: Any) -> int | None:
    return None if raw is None or raw == "" else _int(raw)


def _float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("expected a number")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        return float(raw.strip())
    raise ValueError("expected a number")


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _strings(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list | tuple | set | frozenset):
        return tuple(_text(item) for item in raw)
    raise ValueError("expected a list or a comma-separated string")


def _keys(raw: Any) -> frozenset[str]:
    return frozenset(_strings(raw))


def _ratios(raw: Any) -> dict[str, float]:
    pairs: Mapping[str, Any]
    if isinstance(raw, str):
        items = [part.split("=", 1) for part in raw.split(",") if part.strip()]
        if any(len(item) != 2 for item in items):
            raise ValueError("expected scenario=fraction pairs, e.g. processing=0.3")
        pairs = {name.strip(): value for name, value in items}
    elif isinstance(raw, Mapping):
        pairs = raw
    else:
        raise ValueError("expected scenario=fraction pairs")
    return {str(name): _float(value) for name, value in pairs.items()}


def _fault_rates(raw: Any) -> dict[str, float]:
    from mock_server.faults import parse_fault_rates

    rates = parse_fault_rates(raw if isinstance(raw, str | Mapping) else _text(raw))
    return {str(name): share for name, share in rates.items()}


def _choice(*allowed: str) -> Callable[[Any], str]:
    def convert(raw: Any) -> str:
        value = _text(raw).strip()
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return value

    return convert


_CONVERTERS: Mapping[str, Callable[[Any], Any]] = {
    "host": _text,
    "port": _int,
    "workers": _int,
    "api_keys": _keys,
    "api_keys_file": _optional_text,
    "profile": _choice("documented", "observed"),
    "quirks": _strings,
    "error_status": _choice("vendor", "rest"),
    "store": _text,
    "seed": _int,
    "ratios": _ratios,
    "rules_file": _optional_text,
    "default_eta": _float,
    "processing_polls": _optional_int,
    "strict": _bool,
    "engine": _choice("synthetic", "diffusers"),
    "model_dir": _optional_text,
    "device": _optional_text,
    "dtype": _choice("auto", "bfloat16", "float16", "float32"),
    "mixing": _choice("community", "paper"),
    "max_batch": _int,
    "allow_hosts": _strings,
    "queue_threshold_s": _float,
    "public_url": _optional_text,
    "image_cache_size": _int,
    "access_log": _bool,
    "webhook_allow_hosts": _strings,
    "webhook_retry_s": _float,
    "latency": _optional_text,
    "faults": _fault_rates,
    "fault_seed": _int,
    "slow_body_s": _float,
    "queue_limit": _optional_int,
    "failed_job_rate": _float,
    "admin": _bool,
    "admin_token": _optional_text,
    "job_ttl_s": _float,
    "purge_every_s": _float,
    "max_body_bytes": _int,
    "journal_size": _int,
}


def _convert(name: str, raw: Any, origin: str) -> Any:
    converter = _CONVERTERS.get(name)
    if converter is None:
        known = ", ".join(sorted(_CONVERTERS))
        raise SettingsError(f"unknown setting {name!r} in {origin}; known settings: {known}")
    try:
        return converter(raw)
    except (ValueError, TypeError) as error:
        raise SettingsError(f"setting {name!r} from {origin}: {error} (got {raw!r})") from None


def _check_ci(settings: Settings, fail: Callable[[str, Any, str], SettingsError]) -> None:
    from mock_server.faults import parse_latency
    from mock_server.webhooks import WebhookPolicy

    try:
        WebhookPolicy(allow_hosts=settings.webhook_allow_hosts)
    except ValueError as error:
        raise fail("webhook_allow_hosts", settings.webhook_allow_hosts, str(error)) from None
    if settings.latency is not None:
        try:
            parse_latency(settings.latency)
        except ValueError as error:
            raise fail("latency", settings.latency, str(error)) from None
    for name in ("webhook_retry_s", "slow_body_s"):
        if not 0 <= getattr(settings, name) <= 86400:
            raise fail(name, getattr(settings, name), "must be between 0 and 86400 seconds")
    if settings.queue_limit is not None and settings.queue_limit < 1:
        raise fail("queue_limit", settings.queue_limit, "must be at least 1")
    if not 0.0 <= settings.failed_job_rate <= 1.0:
        raise fail("failed_job_rate", settings.failed_job_rate, "must be between 0 and 1")
    for name in ("job_ttl_s", "purge_every_s"):
        if getattr(settings, name) <= 0:
            raise fail(name, getattr(settings, name), "must be more than 0 seconds")
    for name in ("max_body_bytes", "journal_size"):
        if getattr(settings, name) < 1:
            raise fail(name, getattr(settings, name), "must be at least 1")


def _check(settings: Settings) -> Settings:
    """Cross-checks that single converters cannot do."""

    def fail(name: str, value: Any, why: str) -> SettingsError:
        return SettingsError(f"setting {name!r} = {value!r}: {why}")

    if not 0 <= settings.port <= 65535:
        raise fail("port", settings.port, "must be between 0 and 65535")
    if settings.workers < 1:
        raise fail("workers", settings.workers, "must be at least 1")
    for name, share in settings.ratios.items():
        if name not in SCENARIOS:
            raise fail("ratios", name, f"is not a scenario; scenarios: {', '.join(SCENARIOS)}")
        if not 0.0 <= share <= 1.0:
            raise fail("ratios", f"{name}={share}", "each share must be between 0 and 1")
    if sum(settings.ratios.values()) > 1.0 + 1e-9:
        raise fail("ratios", dict(settings.ratios), "the shares add up to more than 1")
    if not 0.0 <= settings.default_eta <= 86400:
        raise fail("default_eta", settings.default_eta, "must be between 0 and 86400 seconds")
    if settings.processing_polls is not None and settings.processing_polls < 0:
        raise fail("processing_polls", settings.processing_polls, "must be 0 or more")
    if settings.queue_threshold_s < 0:
        raise fail("queue_threshold_s", settings.queue_threshold_s, "must be 0 or more")
    if settings.max_batch < 1:
        raise fail("max_batch", settings.max_batch, "must be at least 1")
    if settings.image_cache_size < 1:
        raise fail("image_cache_size", settings.image_cache_size, "must be at least 1")
    _check_ci(settings, fail)
    if settings.public_url is not None and not settings.public_url.startswith(("http://", "https://")):
        raise fail("public_url", settings.public_url, "must start with http:// or https://")
    return settings


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"cannot read config file {str(path)!r}: {error.strerror}") from None
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise SettingsError(f"config file {str(path)!r} is not valid: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(
            f"config file {str(path)!r} must hold a mapping of settings, not {type(data).__name__}"
        )
    section = data.get("mixmock", data)  # a pyproject-like file may nest the settings under [mixmock]
    return {str(key).replace("-", "_"): value for key, value in section.items()}


def _read_keys_file(path: str) -> frozenset[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SettingsError(f"cannot read api keys file {path!r}: {error.strerror}") from None
    return frozenset(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in _CONVERTERS:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            found[name] = _convert(name, raw, f"environment variable {ENV_PREFIX + name.upper()}")
    return found


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from defaults < config file < environment < `overrides` (the command line, already typed)."""
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG") or None
    merged: dict[str, Any] = {}
    if config_file:
        origin = f"config file {config_file!r}"
        merged.update({k: _convert(k, v, origin) for k, v in _read_config(Path(config_file)).items()})
    merged.update(_from_environment(environ))
    for name, value in (overrides or {}).items():
        if value is not None:
            merged[name] = _convert(name, value, "the command line")
    if merged.get("api_keys_file"):
        merged["api_keys"] = frozenset(merged.get("api_keys", frozenset())) | _read_keys_file(
            merged["api_keys_file"]
        )
    return _check(Settings(**merged))


def settings_to_json(settings: Settings) -> str:
    """The resolved settings, for worker processes started by `mixmock serve --workers N`."""
    data = dataclasses.asdict(settings)
    data["api_keys"] = sorted(settings.api_keys)
    data["ratios"] = dict(settings.ratios)
    data["faults"] = dict(settings.faults)
    return json.dumps(data)


def settings_from_json(text: str) -> Settings:
    data = json.loads(text)
    return _check(
        Settings(**{name: _convert(name, value, "resolved settings") for name, value in data.items()})
    )
