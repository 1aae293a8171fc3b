"""Fixtures shared across suites: mock settings and an in-process client of the mock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any

import pytest

from mock_server.access_log import ACCESS_LOG
from mock_server.app import create_app
from mock_server.engines.base import Engine
from mock_server.settings import Settings
from mock_server.state.clock import Clock, ManualClock
from mock_server.tooling.testing import InProcessClient, in_process

ClientFactory = Callable[..., AbstractContextManager[InProcessClient]]


@pytest.fixture(autouse=True)
def _access_lines_stay_with_their_test() -> Iterator[None]:
    """Apps built with the default settings log each request; write those lines while pytest captures."""
    yield
    ACCESS_LOG.flush()


@pytest.fixture
def strict_settings() -> Settings:
    """An in-memory store and strict mode: a reply that breaks the spec fails the test."""
    return Settings(store=":memory:", strict=True)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def mock_client(strict_settings: Settings, clock: ManualClock) -> ClientFactory:
    """`with mock_client(profile="observed") as client:` — the app in-process, settings overridden."""

    @contextmanager
    def make(
        *, engine: Engine | None = None, clock_: Clock | None = None, **overrides: Any
    ) -> Iterator[InProcessClient]:
        app = create_app(replace(strict_settings, **overrides), engine=engine, clock=clock_ or clock)
        with in_process(app, base_url="http://mock.test") as client:
            yield client

    return make
