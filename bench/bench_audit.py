"""The audit (every tier) against plain `st run --checks all`, on the same target, in one run.

The target is the mock, started here (`python -m mock_server serve` with a key list and jobs that finish
after one fetch). The audit runs as `python -m conformance` with the four tiers; schemathesis runs as
`st run SPEC --url ORIGIN/SERVER_PATH --checks all` once per spec, its defaults otherwise. Each peer's
requests are counted by the mock's own journal (`/_mixmock/requests`), the audit's also by its report.

    python bench/bench_audit.py                      # prints seconds, requests and the ratios
    python bench/bench_audit.py --repeat 3           # the median of three runs of each

Absolute numbers from different runs do not compare; the ratios printed at the end do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from bench_load import free_port, serve

from mock_server.tooling.testing import stop_process

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-audit-key"
SPECS = (
    ("v6-image-editing.yaml", "/api/v6"),
    ("v1-enterprise-image-editing.yaml", "/api/v1/enterprise"),
    ("v5-magic-mix.yaml", "/api/v5"),
)
TIERS = "smoke,ranges,full,stateful"


@dataclass(frozen=True)
class Timed:
    name: str
    seconds: float
    requests: int  # API requests the mock's journal saw (image downloads are not journalled)
    exit_code: int


@contextmanager
def mock(directory: Path) -> Iterator[str]:
    """The mock with a key list and jobs that finish after one fetch, on a free loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(port), "--api-key", KEY]
    command += ["--store", str(directory / "jobs.sqlite3"), "--processing-polls", "1", "--no-access-log"]
    child = serve(command, port, cwd=str(ROOT))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(child)


def _journalled(url: str) -> int:
    entries = httpx.get(url + "/_mixmock/requests", params={"limit": "10000"}, timeout=30).json()["requests"]
    return len(entries)


def _timed(name: str, url: str, commands: Sequence[Sequence[str]], directory: Path) -> Timed:
    httpx.post(url + "/_mixmock/reset", timeout=30)
    started, code = time.monotonic(), 0
    for command in commands:
        with (directory / f"{name}.log").open("ab") as log:
            code = max(
                code, subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT).returncode
            )
    seconds = time.monotonic() - started
    return Timed(name, seconds, _journalled(url), code)


def _audit(url: str, directory: Path) -> list[list[str]]:
    return [
        [
            sys.executable,
            "-m",
            "conformance",
            "--base-url",
            url,
            "--key",
            KEY,
            "--tier",
            TIERS,
            "--poll-interval",
            "0.05",
            "--quiet",
            "--report-dir",
            str(directory / "audit"),
        ]
    ]


def _schemathesis(url: str, extra: Sequence[str]) -> list[list[str]]:
    st = shutil.which("st") or str(Path(sys.executable).with_name("st"))
    return [
        [st, "run", str(ROOT / "openapi" / spec), "--url", url + path, "--checks", "all", *extra]
        for spec, path in SPECS
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each peer; the median is reported")
    parser.add_argument(
        "--continue-on-failure",
        action="store_true",
        help="also time `st run --checks all --continue-on-failure` (schemathesis stops an "
        "operation at its first failure by default)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as temp:
        directory = Path(temp)
        with mock(directory) as url:
            peers = {"audit": _audit(url, directory), "st run --checks all": _schemathesis(url, [])}
            if args.continue_on_failure:
                peers["st run --checks all --continue-on-failure"] = _schemathesis(
                    url, ["--continue-on-failure"]
                )
            runs: dict[str, list[Timed]] = {name: [] for name in peers}
            for _ in range(args.repeat):
                for name, commands in peers.items():
                    runs[name].append(_timed(name.replace(" ", "_"), url, commands, directory))
            report = json.loads((directory / "audit" / "audit.json").read_text(encoding="utf-8"))
    print(f"target: the mock on loopback; audit tiers {TIERS}; {args.repeat} run(s) each, medians")
    medians = {name: statistics.median(item.seconds for item in items) for name, items in runs.items()}
    for name, items in runs.items():
        last = items[-1]
        print(f"  {name:<46} {medians[name]:8.2f} s  {last.requests:>6} API requests  exit {last.exit_code}")
    print(
        f"  the audit's own count, downloads and polls included: {report['requests']} requests, "
        f"{len(report['checks'])} checks, verdict {report['verdict']}"
    )
    for stats in report["tier_stats"]:
        print(f"    {stats['tier']:<9} {stats['requests']:>5} requests {stats['seconds']:7.2f} s")
    for name in peers:
        if name != "audit":
            print(f"ratio audit / {name}: {medians['audit'] / medians[name]:.2f} (time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
