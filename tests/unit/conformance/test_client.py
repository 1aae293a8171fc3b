"""The client on an in-memory transport: budget, deadlines, size and depth caps, origins, lost targets."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from conformance import AuditConfig, run_audit
from conformance.client import (
    AuditClient,
    BudgetExhaustedError,
    DeadlineError,
    TargetLostError,
    TargetUnreachableError,
    host_allowed,
)

pytestmark = pytest.mark.unit
ORIGIN = "http://target.test"


_OPEN: list[AuditClient] = []


@pytest.fixture(autouse=True)
def _closed() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _client(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> AuditClient:
    client = AuditClient(ORIGIN, "k3y", transport=httpx.MockTransport(handler), **options)  # type: ignore[arg-type]
    _OPEN.append(client)
    return client


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": "success"})


def test_the_budget_is_a_hard_cap() -> None:
    client = _client(_ok, budget=2)
    client.post_json(ORIGIN + "/a", {"key": "k3y"})
    client.post_json(ORIGIN + "/a", {"key": "k3y"})
    with pytest.raises(BudgetExhaustedError, match="the budget of 2 requests is spent"):
        client.post_json(ORIGIN + "/a", {"key": "k3y"})
    assert client.sent == 2


def test_the_run_deadline_stops_before_the_next_request() -> None:
    now = [0.0]
    client = _client(_ok, max_time=10.0, clock=lambda: now[0])
    client.post_json(ORIGIN + "/a", {})
    now[0] = 10.5
    with pytest.raises(DeadlineError, match="the time limit of 10 s is reached"):
        client.post_json(ORIGIN + "/a", {})


def test_a_refused_connection_is_unreachable_first_and_lost_later() -> None:
    answered = [0]

    def flaky(request: httpx.Request) -> httpx.Response:
        if answered[0] >= 1:
            raise httpx.ConnectError("Connection refused", request=request)
        answered[0] += 1
        return _ok(request)

    with pytest.raises(TargetUnreachableError, match="cannot reach"):
        _client(lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused", request=request))).get(
            ORIGIN + "/x"
        )
    client = _client(flaky)
    client.post_json(ORIGIN + "/a", {})
    with pytest.raises(TargetLostError, match="stopped answering: ConnectError"):
        client.post_json(ORIGIN + "/a", {})


def test_three_silent_replies_in_a_row_stop_the_run() -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = _client(silent)
    for _ in range(2):
        assert client.post_json(ORIGIN + "/a", {}).error.startswith("ReadTimeout")
    with pytest.raises(TargetUnreachableError, match="3 requests in a row got no reply"):
        client.post_json(ORIGIN + "/a", {})


class _Streamed(httpx.AsyncByteStream):
    """A body the transport streams as it is, compressed or not (httpx.Response(content=) decodes it)."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._content


def test_a_reply_over_the_cap_is_cut_and_a_gzip_bomb_is_not_inflated() -> None:
    def big(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/bomb":
            bomb = _Streamed(gzip.compress(bytes(40 * 2**20)))
            return httpx.Response(200, stream=bomb, headers={"Content-Encoding": "gzip"})
        return httpx.Response(200, content=bytes(3 * 2**20), headers={"Content-Type": "application/json"})

    client = _client(big)
    assert client.post_json(ORIGIN + "/json", {}).error == "a body of 3145728 bytes, over the 2 MiB cap"
    bomb = client.get(ORIGIN + "/bomb")
    assert bomb.error == "a body larger than 32 MiB once decoded (cut off)"


def test_a_reply_nested_too_deep_is_no_json() -> None:
    client = _client(lambda request: httpx.Response(200, content=b"[" * 5000 + b"]" * 5000))
    exchange = client.post_json(ORIGIN + "/a", {})
    assert exchange.json is None
    assert exchange.json_problem == "a JSON body nested deeper than 64 levels"


def test_downloads_stay_on_the_audited_origin_unless_told_otherwise() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"Location": "/image.png"})
        if request.url.path == "/away":
            return httpx.Response(302, headers={"Location": "http://elsewhere.test/image.png"})
        return httpx.Response(200, content=b"png")

    client = _client(handler, download_hosts=("*.cdn.test",))
    assert client.get(ORIGIN + "/moved").content == b"png"
    away = client.get(ORIGIN + "/away")
    assert (
        away.error
        == "redirected to http://elsewhere.test/image.png, outside the audited origin (not followed)"
    )
    skipped = client.get("http://elsewhere.test/x.png")
    assert skipped.skipped.startswith("elsewhere.test is not the audited origin")
    assert skipped.seq == 0
    assert client.get("http://eu.cdn.test/x.png").content == b"png"
    assert seen == [ORIGIN + "/moved", ORIGIN + "/image.png", ORIGIN + "/away", "http://eu.cdn.test/x.png"]


def test_host_patterns() -> None:
    assert host_allowed("a.r2.dev", ("*.r2.dev",))
    assert host_allowed("x.example", ("*",))
    assert not host_allowed("r2.dev.evil", ("*.r2.dev",))


def test_a_target_lost_mid_run_makes_the_run_incomplete() -> None:
    calls = [0]

    def dies(request: httpx.Request) -> httpx.Response:
        calls[0] += 1
        if calls[0] > 5:
            raise httpx.ConnectError("Connection refused", request=request)
        return httpx.Response(200, json={"status": "error", "message": "The prompt field is required."})

    config = AuditConfig(base_url=ORIGIN, key="k3y", tiers=("ranges",), operations=("img_mixer",))
    result = run_audit(config, transport=httpx.MockTransport(dies))
    assert result.verdict == "incomplete"
    assert result.incomplete.startswith(f"the target {ORIGIN} stopped answering: ConnectError")
    assert result.requests == 6


def test_a_url_from_a_reply_that_is_no_url_is_an_error_not_a_crash() -> None:
    client = _client(_ok)
    assert client.get("http://[::1").skipped.startswith("not a valid URL")
    assert client.get("http://target.test:port/x.png").skipped.startswith("not a valid URL")
    assert not client.same_origin("http://[::1")
