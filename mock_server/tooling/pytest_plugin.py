"""pytest plugin (entry point `mixmock`): the mock for a client's test suite.

```python
def test_my_client_sends_41_steps(mixmock):
    mixmock.prefer("scenario=processing, polls=1")          # every reply queued, done on the 2nd fetch
    result = my_client.mix(base_url=mixmock.url("/api/v6"), prompt="rose man", steps=41)
    assert mixmock.requests(operation="img_mixer", **{"body.steps": 41})
```
`mixmock_server` (session) serves the mock on a free loopback port in a background thread; `mixmock`
(per test) resets the journal, deliveries, defaults and run-time rules first (`mixmock.rule(...)` adds
one for the test). Override `mixmock_settings` to configure.
`mixmock_asgi` is the same API in-process: `mixmock_asgi.client` is an `httpx.Client` bound to the app
(no socket, no Starlette TestClient, so it adds no warning to a suite run with `-W error`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from mock_server.settings import Settings

__all__ = ["Mixmock", "mixmock", "mixmock_asgi", "mixmock_server", "mixmock_settings"]

ADMIN = "/_mixmock"


class Mixmock:
    """A running mock: its base URL, the journal to assert on, and scenario controls."""

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client

    def url(self, path: str = "") -> str:
        """An absolute URL on the mock, e.g. `url("/api/v6")` for a client's base URL setting."""
        return self.base_url + path

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = self.client.request(method, self.base_url + ADMIN + path, **kwargs)
        if reply.status_code >= 400:
            detail = reply.json().get("detail", reply.text) if reply.content else reply.reason_phrase
            raise ValueError(f"mixmock {method} {ADMIN}{path}: {detail}")
        return reply.json()

    def requests(self, operation: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries, oldest first; filters like `**{"body.steps": 41}` match the body's values."""
        params = {name: _query_value(value) for name, value in filters.items()}
        if operation is not None:
            params["operation"] = operation
        entries: list[dict[str, Any]] = self._admin("GET", "/requests", params=params)["requests"]
        return entries

    def jobs(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._admin("GET", "/jobs")["jobs"]
        return found

    def deliveries(self, state: str | None = None) -> list[dict[str, Any]]:
        """Webhook deliveries with every attempt (time, status or error)."""
        params = {} if state is None else {"state": state}
        found: list[dict[str, Any]] = self._admin("GET", "/webhooks", params=params)["deliveries"]
        return found

    def prefer(self, value: str) -> None:
        """A Prefer header value applied to every request that does not send its own."""
        self._admin("PUT", "/defaults", json={"prefer": value, "ratios": self._defaults().get("ratios")})

    def ratios(self, **shares: float) -> None:
        """Shares of create requests per scenario, e.g. `ratios(processing=0.3)`."""
        self._admin("PUT", "/defaults", json={"prefer": self._defaults().get("prefer"), "ratios": shares})

    def _defaults(self) -> dict[str, Any]:
        found: dict[str, Any] = self._admin("GET", "/defaults")
        return found

    def rule(
        self,
        then: dict[str, Any],
        *,
        when: dict[str, Any] | None = None,
        operation: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Add a run-time rule (matched before the rules file's), e.g.
        `rule({"scenario": "processing"}, when={"prompt": {"contains": "slow"}})`; the rule with its id."""
        document = {"then": then, "when": when, "operation": operation, "name": name}
        added: dict[str, Any] = self._admin(
            "POST", "/rules", json={key: value for key, value in document.items() if value is not None}
        )
        return added

    def rules(self) -> list[dict[str, Any]]:
        """Every rule in match order: the run-time ones, then the rules file's (`source` says which)."""
        found: list[dict[str, Any]] = self._admin("GET", "/rules")["rules"]
        return found

    def remove_rule(self, key: str) -> None:
        """Remove a run-time rule by id or name."""
        self._admin("DELETE", f"/rules/{key}")

    def reset(self) -> None:
        """Forget the journal, webhook deliveries, scenario defaults and run-time rules (jobs stay
        fetchable)."""
        self._admin("POST", "/reset")


def _query_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@pytest.fixture(scope="session")
def mixmock_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The mock's settings for the session; override this fixture to change them."""
    from mock_server.settings import Settings

    store = Path(tmp_path_factory.mktemp("mixmock")) / "jobs.sqlite3"
    return Settings(store=str(store), access_log=False)


@pytest.fixture(scope="session")
def mixmock_server(mixmock_settings: Settings) -> Iterator[Mixmock]:
    """The mock on a free loopback port for the whole session."""
    from mock_server.tooling.testing import running_server

    with ExitStack() as stack:
        base_url = stack.enter_context(running_server(mixmock_settings))
        client = stack.enter_context(httpx.Client(timeout=30.0, trust_env=False))
        yield Mixmock(base_url, client)


@pytest.fixture
def mixmock(mixmock_server: Mixmock) -> Mixmock:
    """The session's mock, reset for this test."""
    mixmock_server.reset()
    return mixmock_server


@pytest.fixture
def mixmock_asgi(mixmock_settings: Settings, tmp_path: Path) -> Iterator[Mixmock]:
    """A fresh mock in-process (no socket): `mixmock_asgi.client` sends requests straight to the app."""
    from dataclasses import replace

    from mock_server.app import create_app
    from mock_server.tooling.testing import in_process

    settings = replace(mixmock_settings, store=str(tmp_path / "jobs.sqlite3"))
    with in_process(create_app(settings), base_url="http://mixmock.test") as client:
        yield Mixmock("http://mixmock.test", client)
