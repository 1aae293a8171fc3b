"""Every setting of the mock, declared once: type, default, help, flag, `MIXMOCK_*` name and check.

Each field of `Settings` carries its declaration; the command line (`mixmock serve --help`), the
environment, config files (YAML or TOML), the worker processes' hand-over and the checks are all
derived from it. Precedence, lowest first: defaults < config file < environment < command line.
A bad value fails early with its name, the value and where it came from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, cast
from urllib.parse import urlsplit

import yaml

from mock_server.cors import origin_problem
from mock_server.parsing import HostAllowList, parse_latency, parse_shares
from mock_server.services.faults import FAULTS
from mock_server.state import launch_store
from mock_server.state.redis.urls import is_redis_url, redis_url_problem
from openapi.vocabulary import SCENARIOS

__all__ = [
    "ADMIN_MODES",
    "ENV_PREFIX",
    "AdminMode",
    "Declaration",
    "ErrorStatus",
    "Profile",
    "ProxySettings",
    "Settings",
    "SettingsError",
    "declarations",
    "load_proxy_settings",
    "load_settings",
    "settings_from_json",
    "settings_to_json",
]

ENV_PREFIX = "MIXMOCK_"
Profile = Literal["documented", "observed"]
ErrorStatus = Literal["vendor", "rest"]
AdminMode = Literal["auto", "open", "off"]
ADMIN_MODES: tuple[AdminMode, ...] = ("auto", "open", "off")
T = TypeVar("T")
Convert = Callable[[Any], Any]
Check = Callable[[Any], "str | None"]  # why a converted value is unusable, or None


class SettingsError(ValueError):
    """A setting has a value the mock cannot use; the message names the setting, the value and its source."""


# ---- converters: a raw value (text from the environment or a flag, or a YAML/TOML value) to a typed one


def _text(raw: Any) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError("expected a string")
    return str(raw)


def _optional(convert: Convert) -> Convert:
    return lambda raw: None if raw is None or raw == "" else convert(raw)


def _int(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return int(raw.strip())
    raise ValueError("expected an integer")


def _float(raw: Any) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
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


def _choice(*allowed: str) -> Convert:
    def convert(raw: Any) -> str:
        value = _text(raw).strip()
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return value

    return convert


_ADMIN_WORDS = {"true": "auto", "yes": "auto", "1": "auto", "false": "off", "no": "off", "0": "off"}


def _admin_mode(raw: Any) -> str:
    """auto, open or off; a boolean (the setting's earlier form) is auto or off."""
    if isinstance(raw, bool):
        return "auto" if raw else "off"
    text = _text(raw).strip().lower()
    text = _ADMIN_WORDS.get(text, text)
    if text not in ADMIN_MODES:
        raise ValueError(f"expected one of {', '.join(ADMIN_MODES)}")
    return text


def _shares(allowed: tuple[str, ...], what: str) -> Convert:
    return lambda raw: parse_shares(raw if isinstance(raw, str | Mapping) else _text(raw), allowed, what)


def _hosts(raw: Any) -> tuple[str, ...]:
    entries = _strings(raw)
    HostAllowList.parse(entries)  # raises naming the entry
    return entries


def _origins(value: tuple[str, ...]) -> str | None:
    return next((why for why in map(origin_problem, value) if why is not None), None)


def _latency(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    text = _text(raw)
    parse_latency(text)  # raises naming the text
    return text


# ---- checks of a converted value


def _between(low: float, high: float, unit: str = "") -> Check:
    return lambda value: None if low <= value <= high else f"must be between {low:g} and {high:g}{unit}"


def _at_least(low: float) -> Check:
    return lambda value: None if value is None or value >= low else f"must be at least {low:g}"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be more than 0 seconds"


def _http_url(value: str | None) -> str | None:
    if value is None or value.startswith(("http://", "https://")):
        return None
    return "must start with http:// or https://"


def _faster_than_zero(value: float) -> str | None:
    return None if value > 0 else "must be more than 0 (inf: as fast as the client asks)"


def _origin(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return "must be an http(s) origin such as https://modelslab.com"
    if parts.path.strip("/") or parts.query or parts.fragment:
        return "must be an origin without a path: the specs' paths (/api/v6/...) are kept under it"
    return None


def _store(value: str) -> str | None:
    if is_redis_url(value):
        return redis_url_problem(value)
    if "://" in value:
        return "must be a SQLite file path, :memory:, or a redis:// or rediss:// URL"
    return None


def _key_prefix(value: str) -> str | None:
    if value and not any(character.isspace() or character == "*" for character in value):
        return None
    return "must be non-empty, without spaces or *"


def _device(value: str | None) -> str | None:
    if (
        value is None
        or value == "cpu"
        or value == "cuda"
        or (value.startswith("cuda:") and value[5:].isdigit())
    ):
        return None
    return "must be cpu, cuda or cuda:N"


# ---- declarations


@dataclass(frozen=True)
class Declaration:
    """How one setting is read, shown and checked (the field's name gives the config key and variable)."""

    help: str
    convert: Convert
    check: Check | None = None
    flag: str | None = None  # default --<name-with-dashes>
    metavar: str | None = None
    cli: Literal["value", "append", "on", "off"] = "value"  # on/off: a switch that sets True/False
    choices: tuple[str, ...] = ()
    shown_default: str | None = None  # the default as --help says it, when repr() would not do
    # A flag that sets this setting from a simpler value: (flag, metavar, help, raw -> the setting's raw).
    shorthand: tuple[str, str, str, Callable[[str], Any]] | None = None


_KEY = "mixmock"


def _setting(
    default: Any = dataclasses.MISSING, *, factory: Callable[[], Any] | None = None, **declared: Any
) -> Any:
    declaration = Declaration(**declared)
    if factory is not None:
        return field(default_factory=factory, metadata={_KEY: declaration})
    return field(default=default, metadata={_KEY: declaration})


def _seconds(default: float, help: str, *, flag: str | None = None, check: Check | None = None) -> Any:
    """A duration in seconds: between 0 and a day unless `check` says otherwise."""
    check = check or _between(0, 86400, " seconds")
    return _setting(default, help=help, convert=_float, check=check, flag=flag, metavar="SECONDS")


def _count(default: int | None, help: str, *, low: int = 1, metavar: str = "N", **more: Any) -> Any:
    convert = _int if default is not None else _optional(_int)
    return _setting(default, help=help, convert=convert, check=_at_least(low), metavar=metavar, **more)


def _shares_of(names: tuple[str, ...], noun: str, help: str, **more: Any) -> Any:
    """Shares of requests per name (`name=fraction,...`); none by default."""
    convert = _shares(names, noun)
    return _setting(factory=dict, help=help, convert=convert, metavar="SHARES", shown_default="none", **more)


def _webhook_hosts(help: str) -> Any:
    """Where webhooks may be sent: loopback only unless hosts are named."""
    loopback = ("localhost", "127.0.0.0/8", "::1")
    return _list(loopback, f"{help} (repeatable)", "--webhook-allow-host", "HOST", "loopback", _hosts)


def _pick(default: str, help: str, *choices: str) -> Any:
    return _setting(default, help=help, convert=_choice(*choices), choices=choices)


def _text_or_none(help: str, metavar: str | None = None, **more: Any) -> Any:
    return _setting(None, help=help, convert=_optional(_text), metavar=metavar, **more)


def _list(
    default: tuple[str, ...] | frozenset[str],
    help: str,
    flag: str,
    metavar: str,
    shown: str,
    convert: Convert,
    check: Check | None = None,
) -> Any:
    """A repeatable flag (a comma-separated list in the environment)."""
    return _setting(
        default,
        help=help,
        convert=convert,
        check=check,
        flag=flag,
        metavar=metavar,
        cli="append",
        shown_default=shown,
    )


def _switch(default: bool, help: str, flag: str | None = None) -> Any:
    return _setting(default, help=help, convert=_bool, flag=flag, cli="off" if default else "on")


@dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1", help="interface to listen on", convert=_text)
    port: int = _setting(8000, help="port to listen on", convert=_int, check=_between(0, 65535))
    workers: int = _count(1, "worker processes sharing one job store", metavar="N")
    api_keys: frozenset[str] = _list(
        frozenset(),
        "accept only this key (repeatable; a, b in the environment)",
        "--api-key",
        "KEY",
        "any non-empty key",
        _keys,
    )
    api_keys_file: str | None = _text_or_none("a file of accepted keys, one per line", "FILE")
    profile: Profile = _pick(
        "documented",
        "documented: the pages' contract (every reply validates); observed: the vendor's live quirks",
        "documented",
        "observed",
    )
    quirks: tuple[str, ...] = _list(
        (), "observed profile: apply only these quirks (repeatable)", "--quirk", "NAME", "all", _strings
    )
    error_status: ErrorStatus = _pick(
        "vendor", "vendor: errors are HTTP 200 with status=error; rest: 400/401/422/429/500", "vendor", "rest"
    )
    store: str = _setting(
        factory=launch_store.new_path,  # ids start at 1 unless a store is named; removed on stop
        help="where jobs live: a SQLite file, :memory:, or redis://HOST:PORT/DB (rediss:// for TLS) "
        "shared by any number of replicas and engine workers",
        convert=_text,
        check=_store,
        metavar="PATH|URL",
        shown_default="a new temp file",
    )
    store_prefix: str = _setting(
        "mixmock",
        help="Redis store: the prefix of every key (give each mock its own to share one Redis)",
        convert=_text,
        check=_key_prefix,
        metavar="PREFIX",
    )
    seed: int = _setting(0, help="seed for ids, random seeds and ratios", convert=_int)
    ratios: Mapping[str, float] = _shares_of(
        SCENARIOS,
        "scenario",
        "shares of create requests per scenario, e.g. processing=0.3,failed=0.05",
        shorthand=(
            "--processing-ratio",
            "FRACTION",
            "share of create requests answered processing, e.g. 0.3",
            lambda raw: f"processing={raw}",
        ),
    )
    rules_file: str | None = _text_or_none("a YAML rules file", "FILE", flag="--rules")
    rules_poll_s: float = _seconds(
        1.0, "how often the rules file is checked for changes (0: never)", flag="--rules-poll"
    )
    default_eta: float = _seconds(5.0, "seconds a processing job takes", flag="--eta")
    processing_polls: int | None = _count(
        None, "processing jobs answer N fetches with processing, then succeed", low=0
    )
    strict: bool = _switch(False, "a reply that breaks the spec becomes a 500 problem naming the violation")
    engine: str = _pick(
        "synthetic",
        "image producer; remote: engine workers (`mixmock worker`) take the jobs from a Redis store",
        "synthetic",
        "diffusers",
        "remote",
    )
    model_dir: str | None = _text_or_none("diffusers engine: folder of diffusers-format weights", "DIR")
    device: str | None = _text_or_none(
        "diffusers engine: cpu, cuda or cuda:N", check=_device, shown_default="cuda when present"
    )
    dtype: str = _pick("auto", "diffusers engine: weights dtype", "auto", "bfloat16", "float16", "float32")
    mixing: str = _pick(
        "community",
        "diffusers engine, MagicMix: community (the vendor's: the blend feeds the UNet) or paper "
        "(the blend becomes the state)",
        "community",
        "paper",
    )
    max_batch: int = _count(
        4,
        "diffusers engine: at most N samples per batched forward pass. 1 gives bit-for-bit "
        "reproducible images under concurrent load; larger batches differ by float rounding",
    )
    allow_hosts: tuple[str, ...] = _list(
        (),
        "diffusers engine: a host name or IP network (127.0.0.0/8) input image URLs may point at "
        "although it is private or loopback (repeatable)",
        "--allow-host",
        "HOST",
        "none",
        _hosts,
    )
    queue_threshold_s: float = _seconds(
        10.0,
        "an eager engine's job not done within this becomes a processing reply",
        flag="--queue-threshold",
        check=_at_least(0),
    )
    engine_lease_s: float = _seconds(
        30.0,
        "engine work (an eager engine's or a `mixmock worker`'s job) whose process stopped (killed, crashed) "
        "is taken up by another process or a restart this long after its last sign of life",
        flag="--engine-lease",
        check=_positive,
    )
    public_url: str | None = _text_or_none(
        "origin for output and fetch URLs", "URL", check=_http_url, shown_default="the request's Host"
    )
    image_cache_size: int = _count(64, "rendered jobs kept in memory")
    access_log: bool = _switch(True, "log one line per request", "--no-access-log")
    # CI features: webhooks, faults, the admin API, expiry and input limits
    webhook_allow_hosts: tuple[str, ...] = _webhook_hosts(
        "a host, *.suffix, IP network or * that webhooks may call"
    )
    webhook_retry_s: float = _seconds(300.0, "keep retrying a webhook this long", flag="--webhook-retry")
    latency: str | None = _setting(
        None, help="200ms, uniform:100ms:300ms or lognormal:200ms:0.5", convert=_latency, shown_default="none"
    )
    faults: Mapping[str, float] = _shares_of(
        FAULTS, "fault", "shares of deliberate faults, e.g. drop=0.01,503=0.02"
    )
    fault_seed: int = _setting(0, help="seed of the fault and latency draws", convert=_int)
    slow_body_s: float = _seconds(2.0, "how long a slow-body reply takes", flag="--slow-body")
    queue_limit: int | None = _count(
        None, "pending jobs per key before the rate-limit reply", shown_default="no limit"
    )
    failed_job_rate: float = _setting(
        0.0,
        help="share of queued jobs that end failed",
        convert=_float,
        check=_between(0, 1),
        metavar="FRACTION",
    )
    admin: AdminMode = _setting(
        "auto",
        help="the /_mixmock/ inspection API. auto: open on a loopback host, else only with --admin-token; "
        "open: open wherever the server listens (a private CI network); off: not served",
        convert=_admin_mode,
        choices=ADMIN_MODES,
    )
    admin_token: str | None = _text_or_none(
        "require Authorization: Bearer TOKEN on /_mixmock/ (whatever the host)", "TOKEN"
    )
    job_ttl_s: float = _seconds(86400.0, "jobs expire after this", flag="--job-ttl", check=_positive)
    purge_every_s: float = _seconds(
        60.0, "how often expired jobs are deleted", flag="--purge-every", check=_positive
    )
    max_body_bytes: int = _count(1 << 20, "request body size limit", metavar="BYTES")
    journal_size: int = _count(10_000, "request journal entries kept")
    journal_bytes: int = _count(
        64 << 20, "request journal: bytes kept (the oldest entries go first)", low=1 << 20, metavar="BYTES"
    )
    # Replay: answer from a recording of `mixmock proxy --record DIR` (mock_server/replay/)
    replay_dir: str | None = _text_or_none(
        "answer from the recordings (*.har) in DIR, falling back to the spec", "DIR", flag="--replay"
    )
    replay_speed: float = _setting(
        1.0,
        help="replay the recorded pacing this many times faster; inf: no waiting, the recorded order only",
        convert=_float,
        check=_faster_than_zero,
        metavar="X",
    )
    # Browser clients (mock_server/cors.py): closed unless configured
    cors_origins: tuple[str, ...] = _list(
        (),
        "a web page origin (http://localhost:5173, or *) that may call the vendor's routes, output files "
        "and specs from a browser (repeatable)",
        "--cors-origin",
        "ORIGIN",
        "none",
        _strings,
        _origins,
    )
    admin_cors_origins: tuple[str, ...] = _list(
        (),
        "a web page origin (or *) that may call the /_mixmock/ admin API from a browser (repeatable)",
        "--admin-cors-origin",
        "ORIGIN",
        "none",
        _strings,
        _origins,
    )

    def __post_init__(self) -> None:
        """The same checks for settings built in code (tests, `create_app`) as for loaded ones."""
        _check_fields(self)
        if self.engine == "remote" and not is_redis_url(self.store):
            raise SettingsError(
                f"setting 'engine' = 'remote' needs a Redis store (--store redis://HOST:PORT/DB) that engine "
                f"workers share; got store {self.store!r}"
            )


def _check_fields(settings: Any) -> None:
    for item, declared in declarations(type(settings)):
        value = getattr(settings, item.name)
        why = declared.check(value) if declared.check is not None and value is not None else None
        if why is not None:
            raise SettingsError(f"setting {item.name!r} = {value!r}: {why}")


Webhooks = Literal["pass", "record", "relay"]


@dataclass(frozen=True)
class ProxySettings:
    """`mixmock proxy`: what stands between a client and the vendor, and what it may call.

    Read from flags and `MIXMOCK_PROXY_*` variables. The proxy calls the target; files only on the target
    or a `download_hosts` entry; webhooks (relay) only on a `webhook_allow_hosts` entry. Nothing else.
    """

    env_prefix: ClassVar[str] = ENV_PREFIX + "PROXY_"

    target: str | None = _text_or_none(
        "the vendor's origin to forward to, e.g. https://modelslab.com",
        "URL",
        check=_origin,
        shown_default="none: required, except for --learn on a recording",
    )
    host: str = _setting("127.0.0.1", help="interface to listen on", convert=_text)
    port: int = _setting(8000, help="port to listen on", convert=_int, check=_between(0, 65535))
    record: str | None = _text_or_none("write every exchange to a HAR 1.2 file in DIR", "DIR")
    redact: tuple[str, ...] = _list(
        (),
        "also redact this body field or header (repeatable)",
        "--redact",
        "NAME",
        "key and auth headers",
        _strings,
    )
    budget: int | None = _count(
        None,
        "forward at most N create requests (the calls that cost credits); later ones get a 429 problem",
        low=0,
        shown_default="no limit",
    )
    block_invalid: bool = _switch(
        False, "answer a request that breaks the spec with the vendor's error, without calling the target"
    )
    learn: bool = _switch(
        False, "with --record: write learn.md and learn.json (quirks the vendor showed) into DIR on exit"
    )
    webhooks: Webhooks = _pick(
        "pass",
        "pass: the client's webhook URL goes to the vendor untouched; record: the proxy receives, checks "
        "and records the webhook; relay: as record, then forwards it to the client's URL",
        "pass",
        "record",
        "relay",
    )
    webhook_allow_hosts: tuple[str, ...] = _webhook_hosts(
        "relay: a host, *.suffix, IP network or * that webhooks may be forwarded to"
    )
    download_hosts: tuple[str, ...] = _list(
        (),
        "with --record: a host besides the target (the vendor's CDN, *.r2.dev) whose output files are "
        "downloaded through the proxy and recorded (repeatable)",
        "--download-host",
        "HOST",
        "the target only",
        _hosts,
    )
    public_url: str | None = _text_or_none(
        "origin that clients and the vendor reach the proxy by (rewritten URLs, webhook receiver)",
        "URL",
        check=_http_url,
        shown_default="the request's Host",
    )
    connect_timeout_s: float = _seconds(
        10.0, "connecting to the target", flag="--connect-timeout", check=_positive
    )
    read_timeout_s: float = _seconds(30.0, "between bytes of a reply", flag="--read-timeout", check=_positive)
    total_timeout_s: float = _seconds(
        60.0, "a whole forwarded exchange", flag="--total-timeout", check=_positive
    )
    max_body_bytes: int = _count(
        1 << 20, "request body size limit (larger ones are never forwarded)", metavar="BYTES"
    )
    max_reply_bytes: int = _count(4 << 20, "JSON reply size limit", metavar="BYTES")
    max_file_bytes: int = _count(20 << 20, "downloaded file size limit", metavar="BYTES")
    record_max_bytes: int = _count(
        1 << 30, "stop recording (keep proxying) after this many bytes", metavar="BYTES"
    )
    access_log: bool = _switch(True, "log one line per exchange", "--no-access-log")

    def __post_init__(self) -> None:
        _check_fields(self)


def declarations(kind: type[Any] = Settings) -> Iterator[tuple[dataclasses.Field[Any], Declaration]]:
    """Each setting's field (name, default) with its declaration, in declaration order."""
    for item in dataclasses.fields(kind):
        yield item, cast(Declaration, item.metadata[_KEY])


_DECLARED: Mapping[str, Declaration] = {item.name: declared for item, declared in declarations()}


def env_name(name: str, kind: type[Any] = Settings) -> str:
    return str(getattr(kind, "env_prefix", ENV_PREFIX)) + name.upper()


def _convert(name: str, raw: Any, origin: str, known: Mapping[str, Declaration] = _DECLARED) -> Any:
    declared = known.get(name)
    if declared is None:
        raise SettingsError(
            f"unknown setting {name!r} in {origin}; known settings: {', '.join(sorted(known))}"
        )
    try:
        value = declared.convert(raw)
    except (ValueError, TypeError) as error:
        raise SettingsError(f"setting {name!r} from {origin}: {error} (got {raw!r})") from None
    why = declared.check(value) if declared.check is not None and value is not None else None
    if why is not None:
        raise SettingsError(f"setting {name!r} = {value!r} from {origin}: {why}")
    return value


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


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from defaults < config file < environment < `overrides` (the command line's raw values)."""
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG") or None
    merged: dict[str, Any] = {}
    if config_file:
        origin = f"config file {config_file!r}"
        merged.update({k: _convert(k, v, origin) for k, v in _read_config(Path(config_file)).items()})
    for name in _DECLARED:
        raw = environ.get(env_name(name))
        if raw is not None:
            merged[name] = _convert(name, raw, f"environment variable {env_name(name)}")
    for name, value in (overrides or {}).items():
        if value is not None:
            merged[name] = _convert(name, value, "the command line")
    if merged.get("api_keys_file"):
        merged["api_keys"] = frozenset(merged.get("api_keys", frozenset())) | _read_keys_file(
            merged["api_keys_file"]
        )
    return Settings(**merged)


def load_proxy_settings(
    overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> ProxySettings:
    """Proxy settings from defaults < `MIXMOCK_PROXY_*` environment < `overrides` (the command line)."""
    environ = os.environ if environ is None else environ
    known = {item.name: declared for item, declared in declarations(ProxySettings)}
    merged: dict[str, Any] = {}
    for name in known:
        raw = environ.get(env_name(name, ProxySettings))
        if raw is not None:
            merged[name] = _convert(name, raw, f"environment variable {env_name(name, ProxySettings)}", known)
    for name, value in (overrides or {}).items():
        if value is not None:
            merged[name] = _convert(name, value, "the command line", known)
    return ProxySettings(**merged)


def settings_to_json(settings: Settings) -> str:
    """The resolved settings, for worker processes started by `mixmock serve --workers N`."""
    data = {name: getattr(settings, name) for name in _DECLARED}
    data["api_keys"] = sorted(settings.api_keys)
    return json.dumps(data, default=dict)


def settings_from_json(text: str) -> Settings:
    data = json.loads(text)
    return Settings(**{name: _convert(name, value, "resolved settings") for name, value in data.items()})
