"""Checks made before the first request: a run that cannot report, or cannot reach its target, costs nothing.

The key and option values are checked by AuditConfig; here: the report directory can be written, the
baseline can be read, and the target's port accepts a connection (a TCP connect, no HTTP request, so
nothing is billed).
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from conformance.client import TargetUnreachableError
from conformance.config import ConfigError
from conformance.findings import Finding, load_baseline

__all__ = ["check_reachable", "check_report_dir", "read_baseline"]


def check_report_dir(path: Path) -> None:
    """The directory exists (it is created) and a file can be written in it."""
    probe = path / ".mixmock-audit-write-test"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"--report-dir {str(path)!r} is not writable: {error.strerror or error}") from None


def read_baseline(path: Path, *, writing: bool) -> dict[str, Finding]:
    """The known findings of `path`; none when it does not exist yet and this run writes it."""
    if not path.exists():
        if not writing:
            raise ConfigError(f"--baseline {str(path)!r} does not exist (add --write-baseline to create it)")
        check_report_dir(path.parent)
        return {}
    try:
        return load_baseline(path)
    except ValueError as error:
        raise ConfigError(f"--baseline: {error}") from None


def check_reachable(origin: str, timeout: float) -> None:
    """A TCP connection to the origin's host and port opens within `timeout` seconds."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise TargetUnreachableError(origin, f"no connection to {host}:{port} ({reason})") from None
