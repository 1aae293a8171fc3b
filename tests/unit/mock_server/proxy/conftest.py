"""The proxy in-process in front of the mock in-process: the mock is the vendor, reached through an
httpx transport that counts what the proxy sends it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mock_server.app import create_app
from mock_server.proxy.app import Proxy, create_proxy_app
from mock_server.settings import ProxySettings, Settings
from mock_server.state.clock import ManualClock
from mock_server.tooling.testing import InProcessClient, in_process

VENDOR = "http://vendor.test"
KEY = "sk-unit-0123456789abcdef"


@dataclass
class Counting(httpx.AsyncBaseTransport):
    """Forwards to `inner` (or fails with `error`), keeping every request."""

    inner: httpx.AsyncBaseTransport
    error: Exception | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return await self.inner.handle_async_request(request)


@dataclass
class Proxied:
    client: InProcessClient
    app: Starlette
    vendor: Starlette
    transport: Counting

    @property
    def proxy(self) -> Proxy:
        proxy: Proxy = self.app.state.proxy
        return proxy


@contextmanager
def proxied(vendor: Starlette | None = None, **overrides: Any) -> Iterator[Proxied]:
    """`with proxied(record=str(tmp_path)) as p:` the proxy (settings overridden) in front of the mock."""
    vendor = vendor or create_app(Settings(store=":memory:", access_log=False), clock=ManualClock())
    transport = Counting(httpx.ASGITransport(app=vendor))
    settings = ProxySettings(**{"target": VENDOR, "access_log": False, **overrides})
    app = create_proxy_app(settings, client=httpx.AsyncClient(transport=transport))
    with in_process(app, base_url="http://proxy.test") as client:
        yield Proxied(client, app, vendor, transport)


@pytest.fixture
def img_mixer_body() -> dict[str, Any]:
    return {"key": KEY, "prompt": "rose man", "init_image": ["https://img.example/a.png"], "steps": 41}
