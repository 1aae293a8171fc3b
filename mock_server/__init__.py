"""A vendor-faithful mock of the Magic Mix and Image Mixer endpoints, driven by the kit's OpenAPI specs.

The public surface: `Settings` and `load_settings` (every setting, declared once), `create_app` (the
ASGI app, with an injectable engine, clock and id factory), `running_server` (the mock on a free
loopback port for a test suite) and `ManualClock`. They are imported on first use, so importing one
subpackage (the reference engine, say) does not build the whole server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.app import create_app
    from mock_server.settings import Settings, load_settings
    from mock_server.state.clock import ManualClock
    from mock_server.tooling.testing import running_server

__all__ = ["ManualClock", "Settings", "create_app", "load_settings", "running_server"]

_HOMES = {
    "create_app": "mock_server.app",
    "Settings": "mock_server.settings",
    "load_settings": "mock_server.settings",
    "ManualClock": "mock_server.state.clock",
    "running_server": "mock_server.tooling.testing",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
