"""`mixmock audit` / `python -m conformance`: parse arguments, run, report, exit 0 / 1 / 2.

Exit codes: 0 conformant (or only baseline-known findings), 1 new findings, 2 a usage, configuration
or connection error, always with a one-line message naming the value and never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.client import TargetUnreachableError
from conformance.config import TIERS, AuditConfig, ConfigError
from conformance.findings import load_baseline, write_baseline
from conformance.reports import summary, write_reports
from conformance.runner import AuditResult, run_audit

__all__ = ["KEY_ENV", "main"]

KEY_ENV = "MIXMOCK_AUDIT_KEY"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixmock audit",
        description="Audit a target (the vendor's API, the mock, the reference engine, a clone) against the "
        "kit's OpenAPI specs: parameter ranges both ways, reply contract, jobs, images, webhooks.",
        epilog="Exit codes: 0 conformant (or only baseline findings), 1 findings, 2 usage or connection "
        "error.",
    )
    parser.add_argument("--base-url", required=True, help="target origin, e.g. https://modelslab.com")
    parser.add_argument("--key", help=f"API key sent in every body (default: ${KEY_ENV}); never written")
    parser.add_argument(
        "--tier",
        default="smoke,ranges",
        type=_csv,
        help=f"comma list of {', '.join(TIERS)}; default smoke,ranges",
    )
    parser.add_argument("--budget", type=int, help="hard cap on requests sent, polls and downloads included")
    parser.add_argument("--rate-limit", type=float, help="requests per second")
    parser.add_argument(
        "--seed", type=int, default=0, help="same seed, same requests, whatever the target; default 0"
    )
    parser.add_argument(
        "--report-dir", type=Path, help="write the reports here (JSON, JUnit, HTML, cassette)"
    )
    parser.add_argument("--baseline", type=Path, help="report only findings this baseline does not list")
    parser.add_argument(
        "--write-baseline", action="store_true", help="write this run's findings to --baseline"
    )
    parser.add_argument("--operations", type=_csv, default=(), help="operationIds, e.g. img_mixer,fetch_v6")
    parser.add_argument("--specs", type=_csv, default=(), help="spec names, e.g. v6,v1-enterprise,v5")
    parser.add_argument("--webhooks", action="store_true", help="also check webhook deliveries")
    parser.add_argument(
        "--webhook-host", default="127.0.0.1", help="receiver name the target can reach; default 127.0.0.1"
    )
    parser.add_argument("--webhook-bind", default=None, help="address the receiver listens on")
    parser.add_argument(
        "--webhook-timeout", type=float, default=30.0, help="seconds to wait for a webhook; default 30"
    )
    parser.add_argument(
        "--fuzz-examples", type=int, default=10, help="full tier: cases per operation and mode; default 10"
    )
    parser.add_argument(
        "--job-timeout", type=float, default=60.0, help="seconds a processing job may take; default 60"
    )
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between fetch polls; default 1"
    )
    parser.add_argument(
        "--prefer",
        default="scenario=processing",
        help="stateful submit's Prefer header; default scenario=processing",
    )
    parser.add_argument(
        "--image-url",
        help="image URL (or data: URI) sent instead of the pages' example images, for a target that "
        "cannot reach them; the corpus hash then depends on it",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def _config(args: argparse.Namespace) -> AuditConfig:
    bind = args.webhook_bind or (
        "127.0.0.1" if args.webhook_host in {"127.0.0.1", "localhost"} else "0.0.0.0"
    )
    return AuditConfig(
        base_url=args.base_url,
        key=args.key or os.environ.get(KEY_ENV, ""),
        tiers=args.tier,
        budget=args.budget,
        rate_limit=args.rate_limit,
        seed=args.seed,
        specs=args.specs,
        operations=args.operations,
        webhooks=args.webhooks,
        webhook_host=args.webhook_host,
        webhook_bind=bind,
        webhook_timeout=args.webhook_timeout,
        fuzz_examples=args.fuzz_examples,
        job_timeout=args.job_timeout,
        poll_interval=args.poll_interval,
        prefer=args.prefer,
        image_url=args.image_url,
    )


def _apply_baseline(result: AuditResult, args: argparse.Namespace) -> None:
    if args.baseline is None:
        return
    if args.write_baseline:
        write_baseline(args.baseline, result.findings)
        print(f"baseline written: {args.baseline} ({len(result.findings)} findings)", file=sys.stderr)
    known = load_baseline(args.baseline)
    result.known = [finding for finding in result.findings if finding.key in known]
    result.findings = [finding for finding in result.findings if finding.key not in known]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exit_:
        return 0 if exit_.code == 0 else 2
    if args.write_baseline and args.baseline is None:
        print("mixmock audit: --write-baseline needs --baseline FILE", file=sys.stderr)
        return 2
    try:
        config = _config(args)
        progress = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
        result = run_audit(config, progress=progress)
        _apply_baseline(result, args)
    except (ConfigError, ValueError, TargetUnreachableError) as error:
        print(f"mixmock audit: {error}", file=sys.stderr)
        return 2
    print(summary(result))
    if args.report_dir is not None:
        for path in write_reports(result, args.report_dir):
            print(f"report: {path}", file=sys.stderr)
    return 1 if result.findings else 0
