"""Helpers for test suites: a real mock server on a free loopback port, stopped on exit.

with running_server(Settings(store=":memory:")) as base_url:
    httpx.post(f"{base_url}/api/v6/image_editing/img_mixer", json={...})
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from mock_server.app import create_app
from mock_server.settings import Settings

__all__ = ["free_port", "running_server", "stop_process", "wait_until_answering"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(
    app_or_settings: ASGIApp | Settings, *, host: str = "127.0.0.1", start_timeout: float = 15.0
) -> Iterator[str]:
    """Serve an ASGI app (or the mock built from settings) with uvicorn in a thread; yields the base URL."""
    app = create_app(app_or_settings) if isinstance(app_or_settings, Settings) else app_or_settings
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, daemon=True, name=f"mixmock-{port}"
    )
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            listener.close()
            raise RuntimeError(f"the mock server on {host}:{port} did not start within {start_timeout} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def stop_process(process: subprocess.Popen[Any], grace_s: float = 15.0) -> None:
    """SIGTERM a server subprocess, and SIGKILL it if it has not stopped `grace_s` seconds later."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answering(url: str, process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """Until a GET of `url` gets any HTTP reply; RuntimeError when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1.0, trust_env=False)
            return
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(f"the process for {url} exited with code {process.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:g} s") from None
            time.sleep(0.1)
