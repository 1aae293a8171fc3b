"""Targets for the audit: the mock (documented and observed profiles), broken mocks and the clone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance import AuditConfig, AuditResult, run_audit
from mock_server.app import create_app
from mock_server.settings import Settings
from mock_server.tooling.testing import running_server
from tests.conformance.clone import KEY as CLONE_KEY
from tests.conformance.clone import Clone
from tests.conformance.defects import KEY

FAST: dict[str, Any] = {
    "poll_interval": 0.02,
    "job_timeout": 5.0,
    "webhook_timeout": 5.0,
    "fuzz_examples": 3,
    "http_timeout": 10.0,
}


def mock_settings(**changes: Any) -> Settings:
    """The documented profile with a known key and jobs that finish after one fetch."""
    values: dict[str, Any] = {
        "store": ":memory:",
        "api_keys": frozenset({KEY}),
        "processing_polls": 1,
        "access_log": False,
    }
    return Settings(**{**values, **changes})


def audit(base_url: str, key: str = KEY, **changes: Any) -> AuditResult:
    return run_audit(AuditConfig(base_url=base_url, key=key, **{**FAST, **changes}))


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running_server(create_app(mock_settings())) as url:
        yield url


@pytest.fixture(scope="session")
def clone_server() -> Iterator[tuple[Clone, str]]:
    """One clone for the whole session; tests set its defect through the `clone` fixture."""
    clone = Clone()
    with running_server(clone.app()) as url:
        yield clone, url


@pytest.fixture
def clone(clone_server: tuple[Clone, str]) -> Iterator[tuple[Clone, str]]:
    """The session's clone, correct and empty for this test (and again after it)."""
    target, url = clone_server
    target.reset()
    yield target, url
    target.reset()


def audit_clone(url: str, **changes: Any) -> AuditResult:
    return audit(url, key=CLONE_KEY, **changes)


@pytest.fixture
def serve() -> Callable[[Any], Any]:
    """`with serve(app) as url:` on a free loopback port."""
    return running_server
