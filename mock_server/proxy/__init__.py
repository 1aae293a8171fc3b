"""`mixmock proxy`: stand between a client and the vendor, check both sides, record HAR, learn quirks.

The public surface: `create_proxy_app` (the proxy as an ASGI app), `Proxy`, and `learn_report`
(what a recording says about the vendor's quirks). Recordings are replayed by `mock_server.replay`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.proxy.app import Proxy, create_proxy_app
    from mock_server.proxy.learn import learn_report

__all__ = ["Proxy", "create_proxy_app", "learn_report"]

_HOMES = {
    "Proxy": "mock_server.proxy.app",
    "create_proxy_app": "mock_server.proxy.app",
    "learn_report": "mock_server.proxy.learn",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mock_server.proxy' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
