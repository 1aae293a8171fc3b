"""Helpers for test suites: the mock on a free loopback port, or in-process; stopped on exit.

with running_server(Settings(store=":memory:")) as base_url:
    httpx.post(f"{base_url}/api/v6/image_editing/img_mixer", json={...})

with in_process(create_app(Settings(store=":memory:"))) as client:   # an httpx.Client, no socket
    client.post("/api/v6/image_editing/img_mixer", json={...})
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.types import ASGIApp, Message

from mock_server.app import create_app
from mock_server.settings import Settings

__all__ = [
    "InProcessClient",
    "free_port",
    "in_process",
    "running_server",
    "stop_process",
    "wait_until_answering",
]

T = TypeVar("T")


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


class _LoopTransport(httpx.BaseTransport):
    """A synchronous transport that hands each request to an ASGI app on an event loop in another thread."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def call() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result()


async def _lifespan(app: ASGIApp, started: asyncio.Future[None], stop: asyncio.Event) -> None:
    """Run the app's lifespan: startup, wait for `stop`, shutdown (the ASGI lifespan protocol)."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})

    async def send(message: Message) -> None:
        if started.done():
            return
        if message["type"] == "lifespan.startup.complete":
            started.set_result(None)
        elif message["type"] == "lifespan.startup.failed":
            started.set_exception(RuntimeError(f"the app failed to start: {message.get('message', '')}"))

    async def stopper() -> None:
        await stop.wait()
        await inbox.put({"type": "lifespan.shutdown"})

    stopping = asyncio.create_task(stopper())
    try:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    finally:
        stopping.cancel()


class InProcessClient(httpx.Client):
    """An httpx.Client bound to an app in this process; `call` runs a function on the app's event loop."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop, base_url: str) -> None:
        super().__init__(transport=_LoopTransport(app, loop), base_url=base_url)
        self._loop = loop

    def call(self, function: Callable[[], T]) -> T:
        """`function()` run on the app's loop (to touch an asyncio object the app owns), its result."""

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()


@contextlib.contextmanager
def in_process(app: ASGIApp, base_url: str = "http://mixmock.test") -> Iterator[InProcessClient]:
    """An `httpx.Client` whose requests go straight to `app`, with its lifespan run (no socket, no thread
    per request): the app's background tasks run on one event loop in a helper thread, as under uvicorn."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="mixmock-in-process", daemon=True)
    thread.start()
    stop = asyncio.Event()
    started: asyncio.Future[None] = loop.create_future()
    lifespan = asyncio.run_coroutine_threadsafe(_lifespan(app, started, stop), loop)
    try:
        asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(started), 30), loop).result()
        with InProcessClient(app, loop, base_url) as client:
            yield client
    finally:
        loop.call_soon_threadsafe(stop.set)
        with contextlib.suppress(Exception):
            lifespan.result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def wait_until_answering(
    url: str, process: subprocess.Popen[Any], timeout: float = 30.0, *, success: bool = False
) -> None:
    """Until a GET of `url` gets any HTTP reply (with `success`, a 2xx one: a readiness check);
    RuntimeError when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no reply"
    while True:
        try:
            status = httpx.get(url, timeout=1.0, trust_env=False).status_code
            if not success or 200 <= status < 300:
                return
            last = f"status {status}"
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the process for {url} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            wanted = "2xx reply" if success else "reply"
            raise RuntimeError(f"{url} gave no {wanted} within {timeout:g} s (last: {last})")
        time.sleep(0.1)
