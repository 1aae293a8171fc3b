"""The `mixmock` command: `serve` the mock, `proxy` the vendor, `worker` (an engine worker on a shared Redis
store), `models init-tiny` for the reference engine, `audit` a target."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib
import logging.config
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mock_server.engines.registry import REFERENCE_INSTALL
from mock_server.settings import (
    ENV_PREFIX,
    Declaration,
    ProxySettings,
    Settings,
    SettingsError,
    declarations,
    env_name,
    load_proxy_settings,
    load_settings,
    settings_to_json,
)

__all__ = ["main"]

EXIT_BAD_SETTINGS = 2


def _default_text(item: dataclasses.Field[Any], declared: Declaration) -> str:
    if declared.shown_default is not None:
        return declared.shown_default
    if declared.cli in {"on", "off"}:
        return "on" if item.default else "off"
    return str(item.default)


def _add_setting(
    group: Any, item: dataclasses.Field[Any], declared: Declaration, kind: type[Any] = Settings
) -> None:
    """One flag for one declared setting; the value stays raw text for `load_settings` to convert."""
    env = env_name(item.name, kind)
    flag = declared.flag or "--" + item.name.replace("_", "-")
    if declared.cli in {"on", "off"}:
        const = declared.cli == "on"
        group.add_argument(
            flag, dest=item.name, action="store_const", const=const, help=f"{declared.help} ({env})"
        )
        return
    text = f"{declared.help}; default {_default_text(item, declared)} ({env})"
    options: dict[str, Any] = {"dest": item.name, "help": text, "metavar": declared.metavar}
    if declared.choices:
        options["choices"] = declared.choices
    if declared.cli == "append":
        options["action"] = "append"
    group.add_argument(flag, **options)
    if declared.shorthand is not None:
        short, metavar, help_text, _ = declared.shorthand
        group.add_argument(short, dest=f"shorthand_{item.name}", metavar=metavar, help=f"{help_text} ({env})")


_PRECEDENCE = (
    f"Settings come from defaults < --config file < {ENV_PREFIX}* environment variables < these flags."
)


def _settings_parser(commands: Any, name: str, help: str, description: str) -> None:
    """A command that takes every setting as a flag (the same names for `serve` and `worker`)."""
    parser = commands.add_parser(name, help=help, description=f"{description} {_PRECEDENCE}")
    parser.add_argument("--config", help=f"a YAML or TOML file of settings ({ENV_PREFIX}CONFIG)")
    for item, declared in declarations():
        _add_setting(parser, item, declared)


def _proxy_parser(commands: Any) -> None:
    proxy = commands.add_parser(
        "proxy",
        help="stand between a client and the vendor: check both sides, record, learn",
        description="Forward the spec routes to --target (other routes pass through untouched), check each "
        "request and reply against the spec, and with --record write every exchange, key redacted, to a HAR "
        "1.2 file. --learn with --record and no --target reports on an existing recording. Settings come "
        f"from defaults < {ProxySettings.env_prefix}* environment variables < these flags.",
    )
    for item, declared in declarations(ProxySettings):
        _add_setting(proxy, item, declared, ProxySettings)


class _Version(argparse.Action):
    """`mixmock --version`: the installed package's version (read only when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from mock_server.discovery import package_version

        print(f"mixmock {package_version()}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixmock", description="Contract-testing kit for Magic Mix and Image Mixer."
    )
    parser.add_argument("--version", action=_Version, help="print the version of mixmock and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    _settings_parser(
        commands,
        "serve",
        "run the mock server",
        "Serve the Magic Mix and Image Mixer endpoints as the vendor answers them.",
    )
    _settings_parser(
        commands,
        "worker",
        "run an engine worker on a shared Redis store",
        "Take queued engine jobs from a Redis store (--store redis://HOST:PORT/DB), render them with "
        "--engine diffusers (or synthetic), and write the results back, for API replicas started with "
        "--engine remote. One worker per GPU (--device cuda:N).",
    )
    _proxy_parser(commands)
    models = commands.add_parser("models", help="prepare weights for the reference engine")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    init_tiny = model_commands.add_parser("init-tiny", help="write tiny random diffusers models for tests")
    init_tiny.add_argument("directory", type=Path)
    commands.add_parser("audit", help="run the conformance audit (arguments pass through)", add_help=False)
    return parser


def _overrides(args: argparse.Namespace, kind: type[Any] = Settings) -> dict[str, Any]:
    """The settings the command line gives, as raw values (shorthand flags turned into their setting)."""
    overrides: dict[str, Any] = {}
    for item, declared in declarations(kind):
        overrides[item.name] = getattr(args, item.name)
        if declared.shorthand is not None:
            raw = getattr(args, f"shorthand_{item.name}")
            if raw is not None and overrides[item.name] is None:
                overrides[item.name] = declared.shorthand[3](raw)
    return overrides


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the mock's own `mixmock.*` loggers at INFO on the same stream."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["mixmock"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@contextmanager
def _launch_logging() -> Iterator[None]:
    """The launch's logging (`_log_config`), and the loggers it sets as they were afterwards: a launch
    refused in-process (`main(["serve", ...])` returning 2) leaves its caller's logging alone."""
    config = _log_config()
    names = [*config["loggers"], ""]
    saved = [
        (logger, logger.handlers[:], logger.level, logger.propagate, logger.disabled)
        for logger in map(logging.getLogger, names)
    ]
    logging.config.dictConfig(config)
    try:
        yield
    finally:
        for logger, handlers, level, propagate, disabled in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled


def _announce(settings: Settings) -> None:
    """The startup block: once per launch, from the launching process, whatever the worker count."""
    from mock_server.discovery import startup_block
    from mock_server.pipeline.routing import route_table
    from mock_server.services.admin import DEFAULT_PREFIX

    logging.getLogger("mixmock").info("%s", startup_block(settings, route_table(), DEFAULT_PREFIX))


def _serve(args: argparse.Namespace) -> int:
    from mock_server.runtime import preflight
    from mock_server.state import launch_store

    settings = load_settings(_overrides(args), config_file=args.config)
    preflight(settings)  # fail before starting workers
    try:
        with _launch_logging():
            _run_server(settings)
    finally:  # the per-launch store goes with the launch (its processes have all stopped by now)
        launch_store.remove_if_unused(settings.store)
    return 0


def _run_server(settings: Settings) -> None:
    import uvicorn

    from mock_server.app import RESOLVED_SETTINGS_ENV, create_app, freeze_heap

    if settings.workers == 1:
        app = create_app(settings)  # what it refuses (a bad recording...) is refused before the announcement
        _announce(settings)
        freeze_heap()
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            access_log=False,  # the app writes uvicorn's access lines itself, in batches (access_log.py)
            log_config=_log_config(),
        )
        return
    # Workers import the app themselves; they all read these resolved settings, the store path included.
    os.environ[RESOLVED_SETTINGS_ENV] = settings_to_json(settings)
    _announce(settings)
    uvicorn.run(
        "mock_server.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=_log_config(),
    )


def _proxy(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from mock_server.proxy.app import Proxy, create_proxy_app
    from mock_server.proxy.learn import learn_report
    from mock_server.proxy.report import write_report

    settings = load_proxy_settings(_overrides(args, ProxySettings))
    if settings.learn and settings.record is None:
        raise SettingsError("--learn reads and writes the --record directory: give --record DIR")
    if settings.learn and settings.target is None:  # a report on what was recorded before
        try:
            report = learn_report(settings.record or "")
        except ValueError as error:
            raise SettingsError(str(error)) from None
        written = write_report(report, settings.record or "")
        print(report.as_text(), end="")
        print(f"written: {written[0]}, {written[1]}", file=sys.stderr)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")

    def learn_on_exit(proxy: Proxy) -> None:
        if settings.learn and proxy.recorder is not None and proxy.recorder.entries:
            text, _ = write_report(learn_report(proxy.recorder.directory), proxy.recorder.directory)
            logging.getLogger("mixmock.proxy").info("learn report: %s", text)

    app = create_proxy_app(settings, on_close=learn_on_exit)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from mock_server.tooling.worker_process import run_worker

    return run_worker(load_settings(_overrides(args), config_file=args.config))


def _init_tiny(directory: Path) -> int:
    try:
        tiny = importlib.import_module("mock_server.engines.diffusers.tiny")
    except ImportError as error:
        raise SettingsError(
            f"models init-tiny needs the reference extra ({REFERENCE_INSTALL}): {error}"
        ) from None
    tiny.init_tiny_models(directory)
    return 0


def _audit(argv: Sequence[str]) -> int:
    try:
        audit = importlib.import_module("conformance.cli")
    except ImportError as error:
        raise SettingsError(
            f"audit needs the audit extra (pip install '.[audit]' in a clone of mixmock): {error}"
        ) from None
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
        if args.command == "proxy":
            return _proxy(args)
        if args.command == "worker":
            return _worker(args)
        return _init_tiny(args.directory)
    except SettingsError as error:
        print(f"mixmock: error: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
