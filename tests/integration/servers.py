"""`mixmock serve` subprocesses for the CI tests: started on a free port, stopped (or killed) by pid.

A server's output goes to a file (`output_of(process)` reads it): a pipe nobody reads fills up and
stalls the server at its next log line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from mock_server.tooling.testing import free_port, stop_process, wait_until_answering

__all__ = ["Launch", "Receiver", "kill", "launch", "output_of", "receiver", "serve", "stop"]

_OUTPUT: dict[int, Path] = {}  # pid -> the file the server writes to


def output_of(process: subprocess.Popen[Any]) -> str:
    """What the server has written so far (stdout and stderr)."""
    return _OUTPUT[process.pid].read_text(errors="replace")


def _wait_for(base_url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(base_url + "/health", timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mixmock serve did not start: {output_of(process)}") from None
            time.sleep(0.1)


@contextmanager
def serve(
    *args: str,
    port: int | None = None,
    access_log: bool = False,
    env: Mapping[str, str] | None = None,
    before_start: Callable[[], None] | None = None,
    start_timeout_s: float = 60.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m mock_server serve ARGS` on a loopback port; yields (base URL, process).

    `env` adds variables; `before_start` runs in the child before the server starts (resource limits);
    a server that does not answer /health within `start_timeout_s` fails the test with its output.
    """
    port = port or free_port()
    logged = [] if access_log else ["--no-access-log"]
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(port), *logged, *args]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with tempfile.NamedTemporaryFile("wb", prefix="mixmock-serve-", suffix=".log", delete=False) as output:
        process = subprocess.Popen(
            command, env=environment, stdout=output, stderr=output, preexec_fn=before_start
        )
    _OUTPUT[process.pid] = Path(output.name)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base_url, process, start_timeout_s)
        yield base_url, process
    finally:
        stop(process)
        Path(output.name).unlink(missing_ok=True)
        _OUTPUT.pop(process.pid, None)


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, and SIGKILL if the server has not stopped 15 s later."""
    stop_process(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no shutdown handler runs, nothing is flushed on the way out."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


class Receiver:
    """A webhook receiver on a loopback port that records every POST and answers `status` (with
    `headers`), `delay_s` seconds after the body arrived."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.status = 200
        self.headers: dict[str, str] = {}
        self.delay_s = 0.0
        self._lock = threading.Lock()

    def received(self, count: int, timeout: float = 20.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.bodies) >= count:
                    return list(self.bodies)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} webhook calls within {timeout} s, got {len(self.bodies)}")


@contextmanager
def receiver(port: int | None = None) -> Iterator[tuple[str, Receiver]]:
    """A webhook receiver; yields (its URL, the recorder)."""
    record = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length))
            with record._lock:
                record.bodies.append(body)
            time.sleep(record.delay_s)
            self.send_response(record.status)
            for name, value in record.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Launch:
    """A `mixmock serve` process whose log (stdout and stderr) goes to a file, to read afterwards."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def launch(tmp_dir: Path, *args: str) -> Iterator[Launch]:
    """`python -m mock_server serve ARGS` with TMPDIR=tmp_dir (its own launch stores), log to a file."""
    port = free_port()
    log = tmp_dir / f"serve-{port}.log"
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(port), "--no-access-log", *args]
    env = {**os.environ, "TMPDIR": str(tmp_dir), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base_url + "/health", process, timeout=60)
        yield Launch(process, base_url, log)
    finally:
        stop_process(process)
