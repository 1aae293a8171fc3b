"""The store backend fixture of the contract suites: every test taking `backend` runs once per backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.mock_server.backends import BACKENDS, Backend


@pytest.fixture(params=sorted(BACKENDS), ids=str)
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture
def location(backend: Backend, tmp_path: Path) -> str:
    """A fresh place to keep a store; two stores opened on it are two processes sharing it."""
    return backend.location(tmp_path)
