"""`mixmock proxy` subprocesses on loopback ports, their stderr kept in a file the test reads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mock_server.tooling.testing import free_port, stop_process, wait_until_answering

__all__ = ["proxying", "scrub_origins"]


@contextmanager
def proxying(target: str, *args: str, log: Path) -> Iterator[str]:
    """`python -m mock_server proxy --target TARGET ARGS` on a free port; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "mock_server", "proxy", "--port", str(port), "--target", target, *args]
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            command, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=stderr, stderr=stderr
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_answering(base_url + "/_mixmock/proxy/health", process)
        except RuntimeError as error:
            raise RuntimeError(f"mixmock proxy did not start ({error}): {log.read_text()}") from None
        yield base_url
    finally:
        stop_process(process)


def scrub_origins(value: Any, origins: Mapping[str, str]) -> Any:
    """A copy of a JSON value with each origin replaced by its name, to compare two servers' replies."""
    if isinstance(value, str):
        for origin, name in origins.items():
            value = value.replace(origin, name)
        return value
    if isinstance(value, list):
        return [scrub_origins(item, origins) for item in value]
    if isinstance(value, dict):
        return {key: scrub_origins(item, origins) for key, item in value.items()}
    return value
