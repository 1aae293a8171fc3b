"""pytest plugin (entry point `mixmock`): the mock for a client's test suite.

```python
def test_my_client_sends_41_steps(mixmock):
    mixmock.prefer("scenario=processing, polls=1")          # every reply queued, done on the 2nd fetch
    result = my_client.mix(base_url=mixmock.url("/api/v6"), prompt="rose man", steps=41)
    assert mixmock.requests(operation="img_mixer", **{"body.steps": 41})
```
`mixmock_server` (session) serves the mock on a free loopback port in a background thread; `mixmock`
(per test) is that mock seen from the test's own mock session (`mock_server/sessions.py`), id
`<xdist worker or "main">-<sha1(node id)[:10]>`: `mixmock.url(...)` carries the session's path prefix,
so a client pointed at it sees only the test's jobs, journal, defaults and rules, however many tests
run at once (`pytest -n 4`) against one mock; `mixmock.headers` holds the session header for clients
that prefer it. The fixture resets its session first (`mixmock.rule(...)` adds a rule for the test).
Override `mixmock_settings` to configure; `--mixmock-url URL` (or the ini option `mixmock_url`) uses a
mock that is already running (a CI service container shared by several jobs) instead: then each run's
ids start with a token of the run (`$MIXMOCK_RUN`, else a random one shared by its xdist workers), so
two jobs running the same tests against one mock stay apart.
`mixmock_asgi` is the same API in-process: `mixmock_asgi.client` is an `httpx.Client` bound to the app
(no socket, no Starlette TestClient, so it adds no warning to a suite run with `-W error`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from mock_server.settings import Settings

__all__ = [
    "Mixmock",
    "mixmock",
    "mixmock_asgi",
    "mixmock_server",
    "mixmock_settings",
    "run_token",
    "session_for_test",
]

ADMIN = "/_mixmock"
SESSION_HEADER = "X-Mixmock-Session"


class Mixmock:
    """A running mock seen from one session: its base URL, the journal to assert on, and scenario
    controls, all of that session ("": the default session, the mock as it is without sessions)."""

    def __init__(self, base_url: str, client: httpx.Client, session: str = "") -> None:
        self.server_url = base_url.rstrip("/")
        self.session = session
        self.base_url = self.server_url + (f"/_session/{session}" if session else "")
        self.client = client

    @property
    def headers(self) -> dict[str, str]:
        """The session header, for a client that sends it rather than using `url()`'s path prefix."""
        return {SESSION_HEADER: self.session} if self.session else {}

    def in_session(self, session: str) -> Mixmock:
        """The same mock seen from another session (one client, no new connection)."""
        return Mixmock(self.server_url, self.client, session)

    def url(self, path: str = "") -> str:
        """An absolute URL on the mock in this session, e.g. `url("/api/v6")` for a client's base URL."""
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
        """Forget this session's journal, webhook deliveries, scenario defaults and run-time rules, and
        start its draws over (jobs stay fetchable)."""
        self._admin("POST", "/reset")


def session_for_test(nodeid: str, worker: str | None = None, run: str = "") -> str:
    """The session id the `mixmock` fixture gives a test: `[<run>-]<worker>-<sha1(nodeid)[:10]>`."""
    worker = worker or os.environ.get("PYTEST_XDIST_WORKER") or "main"
    test = f"{worker}-{hashlib.sha1(nodeid.encode()).hexdigest()[:10]}"
    return f"{run}-{test}" if run else test


_RUN_ENV = "MIXMOCK_RUN"
_RUN = re.compile(r"[A-Za-z0-9-]{1,16}")
_THIS_RUN = uuid.uuid4().hex[:8]  # a run without xdist is this one process


def run_token(shared: bool) -> str:
    """What sets one run's session ids apart from another's on the same mock.

    None is needed on a mock the run started itself: ids, and so the seeded draws of each session, stay
    the same from run to run. On a shared mock (`--mixmock-url`): `$MIXMOCK_RUN` when set (a CI job's
    name: reproducible), else xdist's run id (the same in every worker of the run), else a random one."""
    if not shared:
        return ""
    given = os.environ.get(_RUN_ENV)
    if given is not None:
        if _RUN.fullmatch(given) is None:
            raise pytest.UsageError(
                f"{_RUN_ENV}={given!r} must be 1 to 16 characters of A-Z, a-z, 0-9 and '-'"
            )
        return given
    return os.environ.get("PYTEST_XDIST_TESTRUNUID", _THIS_RUN)[:8]


def _query_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@pytest.fixture(scope="session")
def mixmock_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The mock's settings for the session; override this fixture to change them."""
    from mock_server.settings import Settings

    store = Path(tmp_path_factory.mktemp("mixmock")) / "jobs.sqlite3"
    return Settings(store=str(store), access_log=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    help_text = (
        "use the mock already running at this URL (a CI service shared by several jobs) instead of "
        "starting one; each test still gets its own session"
    )
    parser.addoption("--mixmock-url", default=None, metavar="URL", help=help_text)
    parser.addini("mixmock_url", help_text, default=None)


def _shared_url(config: pytest.Config) -> str | None:
    url = config.getoption("mixmock_url") or config.getini("mixmock_url")
    if not url:
        return None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--mixmock-url {url!r} must be an http(s) URL such as http://mock:8000")
    return url


def pytest_configure(config: pytest.Config) -> None:
    # a bad --mixmock-url or $MIXMOCK_RUN stops the run before any test, as a usage error
    run_token(_shared_url(config) is not None)


@pytest.fixture(scope="session")
def mixmock_server(request: pytest.FixtureRequest) -> Iterator[Mixmock]:
    """The mock for the whole session: started on a free loopback port (`mixmock_settings`), or the
    one already running at `--mixmock-url`."""
    from mock_server.tooling.testing import running_server

    with ExitStack() as stack:
        base_url = _shared_url(request.config)
        if base_url is None:
            settings: Settings = request.getfixturevalue("mixmock_settings")
            base_url = stack.enter_context(running_server(settings))
        client = stack.enter_context(httpx.Client(timeout=30.0, trust_env=False))
        yield Mixmock(base_url, client)


@pytest.fixture
def mixmock(mixmock_server: Mixmock, request: pytest.FixtureRequest) -> Mixmock:
    """The mock seen from this test's own session, reset for it."""
    run = run_token(_shared_url(request.config) is not None)
    mine = mixmock_server.in_session(session_for_test(request.node.nodeid, run=run))
    mine.reset()
    return mine


@pytest.fixture
def mixmock_asgi(mixmock_settings: Settings, tmp_path: Path) -> Iterator[Mixmock]:
    """A fresh mock in-process (no socket): `mixmock_asgi.client` sends requests straight to the app."""
    from dataclasses import replace

    from mock_server.app import create_app
    from mock_server.tooling.testing import in_process

    settings = replace(mixmock_settings, store=str(tmp_path / "jobs.sqlite3"))
    with in_process(create_app(settings), base_url="http://mixmock.test") as client:
        yield Mixmock("http://mixmock.test", client)
