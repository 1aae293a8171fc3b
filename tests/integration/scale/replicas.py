"""Several `mixmock serve` processes on one Redis, for the scale-out tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from subprocess import Popen
from typing import Any

import httpx
import pytest

from mock_server.tooling.redis_server import redis_binary
from tests.integration.servers import serve

__all__ = ["SCALE_TESTS", "Replica", "fetch_until_done", "replicas", "wait_for"]

# The marks of every test here: real servers on loopback ports, and a real redis-server.
SCALE_TESTS = [
    pytest.mark.integration,
    pytest.mark.redis,
    pytest.mark.skipif(
        redis_binary() is None, reason="redis-server is not installed (apt-get install redis-server)"
    ),
]


@dataclass
class Replica:
    url: str
    process: Popen[bytes]

    def post(self, path: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, json=body, timeout=30, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        return httpx.request(method, self.url + "/_mixmock" + path, timeout=30, **kwargs).json()


@contextmanager
def replicas(count: int, store: str, prefix: str, *args: str) -> Iterator[list[Replica]]:
    """`count` servers on one Redis store under one key prefix; stopped on exit."""
    with ExitStack() as stack:
        started = [
            Replica(*stack.enter_context(serve("--store", store, "--store-prefix", prefix, *args)))
            for _ in range(count)
        ]
        yield started


def fetch_until_done(url: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """POST the fetch URL until the job is no longer processing."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply: dict[str, Any] = httpx.post(url, json={"key": "k"}, timeout=30).json()
        if reply["status"] != "processing":
            return reply
        time.sleep(0.1)
    raise AssertionError(f"{url} still processing after {timeout_s} s")


def wait_for(check: Any, what: str, timeout_s: float = 20.0) -> Any:
    """Call `check()` until it returns something true; that value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout_s} s")
