"""`mixmock serve` subprocesses for the CI tests: started on a free port, stopped (or killed) by pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from mock_server.tooling.testing import free_port, stop_process, wait_until_answering

__all__ = ["Launch", "Receiver", "kill", "launch", "receiver", "serve", "stop"]


def _wait_for(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base_url + "/health", timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"mixmock serve did not start: {stderr}") from None
            time.sleep(0.1)


@contextmanager
def serve(*args: str, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m mock_server serve ARGS` on a loopback port; yields (base URL, process)."""
    port = port or free_port()
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(port), "--no-access-log", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base_url, process)
        yield base_url, process
    finally:
        stop(process)
        if process.stderr is not None:
            process.stderr.close()


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, and SIGKILL if the server has not stopped 15 s later."""
    stop_process(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no shutdown handler runs, nothing is flushed on the way out."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


class Receiver:
    """A webhook receiver on a loopback port that records every POST and answers `status`."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.status = 200
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
            self.send_response(record.status)
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
