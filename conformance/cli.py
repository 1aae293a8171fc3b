"""`mixmock audit` / `python -m conformance`: parse arguments, check, run, report, exit 0 / 1 / 2 / 3.

Exit codes: 0 conformant (findings only on inferred constraints or known to the baseline), 1 findings,
2 a usage, configuration or connection error (a one-line message naming the value, never a traceback,
and nothing sent), 3 incomplete: the run was cut short (budget, --max-time, the target gone).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.client import TargetUnreachableError
from conformance.config import TIERS, AuditConfig, ConfigError
from conformance.findings import write_baseline
from conformance.preflight import check_reachable, check_report_dir, read_baseline
from conformance.progress import for_stream
from conformance.reports import dry_run_listing, summary, write_reports
from conformance.runner import AuditResult, plan_audit, run_audit, select_operations
from conformance.sources import FAIL_ON

__all__ = ["EXIT_CODES", "KEY_ENV", "main"]

KEY_ENV = "MIXMOCK_AUDIT_KEY"
EXIT_CODES = {"conformant": 0, "not conformant": 1, "usage": 2, "incomplete": 3}


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


_SWITCH: dict[str, Any] = {"action": "store_true"}
# flag, help, argparse settings: one line per option
OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--base-url", "target origin, e.g. https://modelslab.com", {"required": True}),
    ("--key", f"API key sent in every body (default: ${KEY_ENV}); never written", {}),
    (
        "--tier",
        f"comma list of {', '.join(TIERS)}; default smoke,ranges",
        {"type": _csv, "default": "smoke,ranges"},
    ),
    ("--budget", "hard cap on requests sent, polls and downloads included", {"type": int}),
    ("--rate-limit", "requests per second", {"type": float}),
    ("--max-time", "seconds the whole run may take; past it the run stops, incomplete", {"type": float}),
    ("--seed", "same seed, same requests, whatever the target; default 0", {"type": int, "default": 0}),
    ("--report-dir", "write the reports here (JSON, JUnit, HTML, cassette)", {"type": Path}),
    ("--baseline", "findings this baseline lists are known: reported, never failing", {"type": Path}),
    ("--write-baseline", "write this run's findings to --baseline", _SWITCH),
    (
        "--fail-on",
        "documented (default): only findings on the pages' and the vendor OpenAPI's constraints "
        "fail the run; inferred: the kit's own inferences too",
        {"choices": tuple(FAIL_ON), "default": "documented"},
    ),
    ("--operations", "operationIds, e.g. img_mixer,fetch_v6", {"type": _csv, "default": ()}),
    ("--specs", "spec names, e.g. v6,v1-enterprise,v5", {"type": _csv, "default": ()}),
    ("--webhooks", "also check webhook deliveries", _SWITCH),
    ("--webhook-host", "receiver name the target can reach; default 127.0.0.1", {"default": "127.0.0.1"}),
    ("--webhook-bind", "address the receiver listens on", {"default": None}),
    ("--webhook-timeout", "seconds to wait for a webhook; default 30", {"type": float, "default": 30.0}),
    ("--fuzz-examples", "full tier: cases per operation and mode; default 10", {"type": int, "default": 10}),
    (
        "--job-timeout",
        "seconds to wait for queued jobs while none of them ends; default 60",
        {"type": float, "default": 60.0},
    ),
    ("--poll-interval", "seconds between fetch polls; default 1", {"type": float, "default": 1.0}),
    (
        "--timeout",
        "seconds one exchange may take, the whole body included; default 30",
        {"type": float, "default": 30.0, "dest": "http_timeout"},
    ),
    (
        "--prefer",
        "Prefer header of queued jobs (ignored by targets other than the mock); default scenario=processing",
        {"default": "scenario=processing"},
    ),
    (
        "--image-url",
        "image URL (or data: URI) sent instead of the pages' example images, for a target that "
        "cannot reach them; the corpus hash then depends on it",
        {},
    ),
    (
        "--download-host",
        "hosts besides the audited origin that output images may be downloaded from "
        "(comma list; *.example.com or *)",
        {"type": _csv, "default": (), "dest": "download_hosts"},
    ),
    ("--dry-run", "list each tier's requests and their count; send nothing", _SWITCH),
    ("--quiet", "no progress on stderr", _SWITCH),
)
_NOT_CONFIG = {"report_dir", "baseline", "write_baseline", "quiet", "tier", "webhook_bind"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixmock audit",
        description="Audit a target (the vendor's API, the mock, the reference engine, a clone) against the "
        "kit's OpenAPI specs: parameter ranges both ways, reply contract, jobs, images, webhooks.",
        epilog="Exit codes: 0 conformant (or only inferred or baseline findings), 1 findings, 2 usage or "
        "connection error (nothing sent), 3 incomplete (budget, --max-time or the target gone).",
    )
    for flag, text, settings in OPTIONS:
        parser.add_argument(flag, help=text, **settings)
    return parser


def _config(args: argparse.Namespace) -> AuditConfig:
    values = {name: value for name, value in vars(args).items() if name not in _NOT_CONFIG}
    bind = args.webhook_bind or (
        "127.0.0.1" if args.webhook_host in {"127.0.0.1", "localhost"} else "0.0.0.0"
    )
    values["key"] = args.key or os.environ.get(KEY_ENV, "")
    return AuditConfig(tiers=args.tier, webhook_bind=bind, **values)


def _usage(message: object) -> int:
    print(f"mixmock audit: {message}", file=sys.stderr)
    return EXIT_CODES["usage"]


def _finish(result: AuditResult, args: argparse.Namespace) -> int:
    if args.write_baseline:
        if result.incomplete:
            print("mixmock audit: baseline not written: the run is incomplete", file=sys.stderr)
        else:
            write_baseline(args.baseline, result.findings)
            result.baseline = {finding.key: finding for finding in result.findings}
            print(f"baseline written: {args.baseline} ({len(result.findings)} findings)", file=sys.stderr)
    print(summary(result))
    if args.report_dir is not None:
        for path in write_reports(result, args.report_dir):
            print(f"report: {path}", file=sys.stderr)
    return EXIT_CODES[result.verdict]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exit_:
        return 0 if exit_.code == 0 else EXIT_CODES["usage"]
    if args.write_baseline and args.baseline is None:
        return _usage("--write-baseline needs --baseline FILE")
    try:
        config = _config(args)
        select_operations(config)  # names an unknown operationId before anything else
        if config.dry_run:
            print(dry_run_listing(config, plan_audit(config)))
            return 0
        if args.report_dir is not None:
            check_report_dir(args.report_dir)
        baseline = read_baseline(args.baseline, writing=args.write_baseline) if args.baseline else {}
        check_reachable(config.origin, min(config.http_timeout, 10.0))
        progress = for_stream(sys.stderr, quiet=args.quiet)
        result = run_audit(config, progress=progress, baseline=baseline)
    except (ConfigError, ValueError, TargetUnreachableError) as error:
        return _usage(error)
    return _finish(result, args)
