"""The `mixmock` command: `serve` the mock, `models init-tiny` for the reference engine, `audit` a target."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mock_server.settings import ENV_PREFIX, Settings, SettingsError, load_settings, settings_to_json

__all__ = ["main"]

EXIT_BAD_SETTINGS = 2


def _env(name: str) -> str:
    return f"env {ENV_PREFIX}{name.upper()}"


def _serve_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the mock server",
        description="Serve the Magic Mix and Image Mixer endpoints as the vendor answers them. "
        "Settings come from defaults < --config file < MIXMOCK_* environment variables < these flags.",
    )
    add = serve.add_argument
    add("--config", help=f"a YAML or TOML file of settings ({_env('config')})")
    add("--host", help=f"interface to listen on; default 127.0.0.1 ({_env('host')})")
    add("--port", type=int, help=f"port to listen on; default 8000 ({_env('port')})")
    add("--workers", type=int, help=f"worker processes sharing one job store; default 1 ({_env('workers')})")
    add(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help=f"accept only this key (repeatable); default any non-empty key ({_env('api_keys')}, a, b)",
    )
    add("--api-keys-file", help=f"a file of accepted keys, one per line ({_env('api_keys_file')})")
    add(
        "--profile",
        choices=["documented", "observed"],
        help="documented: the pages' contract (every reply validates); observed: the vendor's live quirks "
        f"({_env('profile')})",
    )
    add(
        "--quirk",
        action="append",
        dest="quirks",
        metavar="NAME",
        help=f"observed profile: apply only these quirks (repeatable); default all ({_env('quirks')})",
    )
    add(
        "--error-status",
        choices=["vendor", "rest"],
        help="vendor: errors are HTTP 200 with status=error; rest: 400/401/422/429/500 "
        f"({_env('error_status')})",
    )
    add("--store", help=f"SQLite job store file, or :memory:; default a new temp file ({_env('store')})")
    add("--seed", type=int, help=f"seed for ids, random seeds and ratios; default 0 ({_env('seed')})")
    add(
        "--processing-ratio",
        type=float,
        metavar="FRACTION",
        help=f"share of create requests answered processing, e.g. 0.3 ({_env('ratios')}=processing=0.3,...)",
    )
    add("--rules", dest="rules_file", metavar="FILE", help=f"a YAML rules file ({_env('rules_file')})")
    add(
        "--eta",
        dest="default_eta",
        type=float,
        help=f"seconds a processing job takes; default 5 ({_env('default_eta')})",
    )
    add(
        "--processing-polls",
        type=int,
        metavar="N",
        help=f"processing jobs answer N fetches with processing, then succeed ({_env('processing_polls')})",
    )
    add(
        "--strict",
        action="store_const",
        const=True,
        help=f"a reply that breaks the spec becomes a 500 problem naming the violation ({_env('strict')})",
    )
    add(
        "--engine",
        choices=["synthetic", "diffusers"],
        help=f"image producer; default synthetic ({_env('engine')})",
    )
    add("--model-dir", help=f"diffusers engine: folder of diffusers-format weights ({_env('model_dir')})")
    add("--device", choices=["cuda", "cpu"], help=f"diffusers engine: device ({_env('device')})")
    add(
        "--dtype",
        choices=["auto", "bfloat16", "float16", "float32"],
        help=f"diffusers engine: weights dtype; default auto ({_env('dtype')})",
    )
    add(
        "--mixing",
        choices=["community", "paper"],
        help="diffusers engine, MagicMix: community (the vendor's: the blend feeds the UNet) or paper "
        f"(the blend becomes the state); default community ({_env('mixing')})",
    )
    add(
        "--allow-host",
        action="append",
        dest="allow_hosts",
        metavar="HOST",
        help="diffusers engine: a host name or IP network (127.0.0.0/8) input image URLs may point at "
        "although it is private or loopback (repeatable); default none "
        f"({_env('allow_hosts')})",
    )
    add(
        "--max-batch",
        type=int,
        metavar="N",
        help="diffusers engine: at most N samples per batched forward pass; default 4. 1 gives bit-for-bit "
        "reproducible images under concurrent load; larger batches differ by float rounding "
        f"({_env('max_batch')})",
    )
    add(
        "--queue-threshold",
        dest="queue_threshold_s",
        type=float,
        metavar="SECONDS",
        help=f"an eager engine's job not done within this becomes a processing reply; default 10 "
        f"({_env('queue_threshold_s')})",
    )
    add(
        "--public-url",
        help=f"origin for output and fetch URLs; default the request's Host ({_env('public_url')})",
    )
    add(
        "--no-access-log",
        dest="access_log",
        action="store_const",
        const=False,
        help=f"do not log one line per request ({_env('access_log')}=false)",
    )
    _ci_arguments(serve)


def _ci_arguments(serve: argparse.ArgumentParser) -> None:
    """Webhooks, faults, the admin API, expiry and input limits."""
    add = serve.add_argument
    add(
        "--webhook-allow-host",
        action="append",
        dest="webhook_allow_hosts",
        metavar="HOST",
        help="a host, *.suffix, IP network or * that webhooks may call (repeatable); default loopback "
        f"({_env('webhook_allow_hosts')})",
    )
    add(
        "--webhook-retry",
        dest="webhook_retry_s",
        type=float,
        metavar="SECONDS",
        help=f"keep retrying a webhook this long; default 300 ({_env('webhook_retry_s')})",
    )
    add("--latency", help=f"200ms, uniform:100ms:300ms or lognormal:200ms:0.5 ({_env('latency')})")
    add("--faults", help=f"shares of deliberate faults, e.g. drop=0.01,503=0.02 ({_env('faults')})")
    add(
        "--fault-seed",
        type=int,
        help=f"seed of the fault and latency draws; default 0 ({_env('fault_seed')})",
    )
    add(
        "--slow-body",
        dest="slow_body_s",
        type=float,
        metavar="SECONDS",
        help=f"how long a slow-body reply takes; default 2 ({_env('slow_body_s')})",
    )
    add(
        "--queue-limit",
        type=int,
        metavar="N",
        help=f"pending jobs per key before the rate-limit reply ({_env('queue_limit')})",
    )
    add(
        "--failed-job-rate",
        type=float,
        metavar="FRACTION",
        help=f"share of queued jobs that end failed ({_env('failed_job_rate')})",
    )
    add(
        "--no-admin",
        dest="admin",
        action="store_const",
        const=False,
        help=f"switch the /_mixmock/ inspection API off ({_env('admin')}=false)",
    )
    add("--admin-token", help=f"require Authorization: Bearer TOKEN on /_mixmock/ ({_env('admin_token')})")
    add(
        "--job-ttl",
        dest="job_ttl_s",
        type=float,
        metavar="SECONDS",
        help=f"jobs expire after this; default 86400 ({_env('job_ttl_s')})",
    )
    add(
        "--purge-every",
        dest="purge_every_s",
        type=float,
        metavar="SECONDS",
        help=f"how often expired jobs are deleted; default 60 ({_env('purge_every_s')})",
    )
    add(
        "--max-body-bytes",
        type=int,
        help=f"request body size limit; default 1048576 ({_env('max_body_bytes')})",
    )
    add(
        "--journal-size",
        type=int,
        help=f"request journal entries kept; default 10000 ({_env('journal_size')})",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixmock", description="Contract-testing kit for Magic Mix and Image Mixer."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    models = commands.add_parser("models", help="prepare weights for the reference engine")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    init_tiny = model_commands.add_parser("init-tiny", help="write tiny random diffusers models for tests")
    init_tiny.add_argument("directory", type=Path)
    commands.add_parser("audit", help="run the conformance audit (arguments pass through)", add_help=False)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = [
        *(
            "host",
            "port",
            "workers",
            "api_keys",
            "api_keys_file",
            "profile",
            "quirks",
            "error_status",
            "store",
        ),
        *("seed", "rules_file", "default_eta", "processing_polls", "strict", "engine", "model_dir", "device"),
        *("dtype", "mixing", "allow_hosts", "max_batch", "queue_threshold_s", "public_url", "access_log"),
        *("webhook_allow_hosts", "webhook_retry_s", "latency", "faults", "fault_seed", "slow_body_s"),
        *("queue_limit", "failed_job_rate", "admin", "admin_token", "job_ttl_s", "purge_every_s"),
        *("max_body_bytes", "journal_size"),
    ]
    overrides = {name: getattr(args, name) for name in names}
    if args.processing_ratio is not None:
        overrides["ratios"] = {"processing": args.processing_ratio}
    return overrides


def _check(settings: Settings) -> None:
    """Fail before starting workers: rules file, quirks and engine availability."""
    from mock_server.quirks import select_quirks
    from mock_server.scenario_rules import RulesError, load_rules

    try:
        load_rules(settings.rules_file)
        select_quirks(settings.profile, settings.quirks)
    except (RulesError, ValueError) as error:
        raise SettingsError(str(error)) from None
    if settings.engine == "diffusers" and importlib.util.find_spec("torch") is None:
        raise SettingsError("engine 'diffusers' needs the reference extra: pip install 'mixmock[reference]'")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings(_overrides(args), config_file=args.config)
    _check(settings)
    from mock_server.app import RESOLVED_SETTINGS_ENV, create_app, freeze_heap

    if settings.workers == 1:
        app = create_app(settings)
        freeze_heap()
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            access_log=False,  # the app writes uvicorn's access lines itself, in batches (mock_server.logs)
        )
        return 0
    # Workers import the app themselves; they all read these resolved settings, the store path included.
    os.environ[RESOLVED_SETTINGS_ENV] = settings_to_json(settings)
    uvicorn.run(
        "mock_server.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        access_log=False,
    )
    return 0


def _init_tiny(directory: Path) -> int:
    try:
        tiny = importlib.import_module("mock_server.engines.diffusers.tiny")
    except ImportError as error:
        raise SettingsError(
            f"models init-tiny needs the reference extra (pip install 'mixmock[reference]'): {error}"
        ) from None
    tiny.init_tiny_models(directory)
    return 0


def _audit(argv: Sequence[str]) -> int:
    try:
        audit = importlib.import_module("conformance.cli")
    except ImportError as error:
        raise SettingsError(f"audit needs the audit extra (pip install 'mixmock[audit]'): {error}") from None
    result = audit.main(list(argv))
    return int(result or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["audit"]:
            return _audit(argv[1:])
        args = _parser().parse_args(argv)
        if args.command == "serve":
            return _serve(args)
        return _init_tiny(args.directory)
    except SettingsError as error:
        print(f"mixmock: error: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
