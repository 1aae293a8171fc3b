"""The proxy's door out: only allowed URLs, deadlines, size caps, no redirects followed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from mock_server.parsing import HostAllowList
from mock_server.proxy.forwarding import Deadlines, Door, Forwarder, UpstreamError, relayed
from mock_server.proxy.urls import UrlPlan
from mock_server.services.webhooks import WebhookPolicy

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PLAN = UrlPlan("https://modelslab.com", HostAllowList.parse(["*.r2.dev"]))


def _forwarder(handler: httpx.MockTransport, deadlines: Deadlines | None = None) -> Forwarder:
    client = httpx.AsyncClient(transport=handler, follow_redirects=False)
    return Forwarder(PLAN, WebhookPolicy(), deadlines or Deadlines(), client=client)


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "url": str(request.url)})


# What each door calls, and what it refuses, under PLAN (and the default webhook policy: loopback only).
CALLS: dict[Door, list[str]] = {
    "target": ["https://modelslab.com/api/v6/image_editing/img_mixer"],
    "download": ["https://pub-1.r2.dev/generations/a.png", "https://modelslab.com/generations/a.png"],
    "webhook": ["http://127.0.0.1:9000/hook"],
}
REFUSES: dict[Door, list[str]] = {
    "target": [
        "https://modelslab.com.evil.example/api",
        "http://modelslab.com/api",
        "https://pub-1.r2.dev/generations/a.png",
        "https://modelslab.com@evil.example/api",
    ],
    "download": ["https://169.254.169.254/latest/meta-data", "https://modelslab.com@evil.example/a.png"],
    "webhook": ["https://hooks.example/hook", "https://pub-1.r2.dev/hook"],
}


@pytest.mark.parametrize(
    ("door", "url", "allowed"),
    [(door, url, True) for door, urls in CALLS.items() for url in urls]
    + [(door, url, False) for door, urls in REFUSES.items() for url in urls],
)
def test_each_door_calls_only_what_it_allows(door: Door, url: str, allowed: bool) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return _ok(request)

    forwarder = _forwarder(httpx.MockTransport(handler))
    if allowed:
        upstream = asyncio.run(forwarder.send(door, "GET", url, max_bytes=1000))
        assert upstream.status == 200
        assert calls == [url]
    else:
        with pytest.raises(UpstreamError, match="refused"):
            asyncio.run(forwarder.send(door, "GET", url, max_bytes=1000))
        assert calls == []


def test_redirects_are_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "https://elsewhere.example/"})

    upstream = asyncio.run(
        _forwarder(httpx.MockTransport(handler)).send("target", "GET", PLAN.target + "/x", max_bytes=100)
    )
    assert (upstream.status, dict(upstream.headers)["location"]) == (302, "https://elsewhere.example/")


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_a_reply_over_the_cap_is_cut_off(declared: bool) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=b"x" * 100_000)
        return httpx.Response(200, content=chunks())

    with pytest.raises(UpstreamError, match="larger than 5000 bytes"):
        asyncio.run(
            _forwarder(httpx.MockTransport(handler)).send("target", "GET", PLAN.target + "/x", max_bytes=5000)
        )


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (httpx.ConnectError("refused"), "ConnectError: refused"),
        (httpx.ConnectTimeout("slow"), "connecting to https://modelslab.com/x took more than 10 s"),
        (httpx.ReadTimeout("slow"), "sent nothing for 30 s"),
    ],
    ids=["unreachable", "connect-timeout", "read-timeout"],
)
def test_transport_failures_name_the_reason(error: Exception, words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(UpstreamError, match=words):
        asyncio.run(
            _forwarder(httpx.MockTransport(handler)).send("target", "POST", PLAN.target + "/x", max_bytes=100)
        )


def test_the_total_deadline_bounds_a_dribbling_reply() -> None:
    async def dribble() -> AsyncIterator[bytes]:
        while True:  # a byte now and then: no read timeout ever fires
            await asyncio.sleep(0.05)
            yield b" "

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=dribble())

    forwarder = _forwarder(httpx.MockTransport(handler), Deadlines(total_s=0.3))
    with pytest.raises(UpstreamError, match=r"no complete reply .* within 0.3 s"):
        asyncio.run(forwarder.send("target", "GET", PLAN.target + "/x", max_bytes=1 << 20))


def test_hop_by_hop_headers_are_not_forwarded() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return _ok(request)

    headers = [
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "Basic eDp5"),
        ("Host", "127.0.0.1:8000"),
        ("X-Requested-With", "modelslab-py"),
    ]
    forwarder = _forwarder(httpx.MockTransport(handler))
    asyncio.run(forwarder.send("target", "GET", PLAN.target + "/x", headers=headers, max_bytes=1000))
    assert seen["host"] == "modelslab.com"
    assert seen["x-requested-with"] == "modelslab-py"
    assert "keep-alive" not in seen
    assert "proxy-authorization" not in seen


def test_a_relayed_reply_keeps_repeated_headers_and_drops_the_senders_own() -> None:
    headers = [
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Date", "yesterday"),
        ("Server", "nginx"),
        ("Content-Type", "application/json"),
    ]
    response = relayed(b"{}", 200, headers, {"X-Mixmock-Violations": "none"})
    raw = [(name.decode(), value.decode()) for name, value in response.raw_headers]
    assert [value for name, value in raw if name == "set-cookie"] == ["a=1", "b=2"]
    assert not any(name in {"date", "server"} for name, _ in raw)
    assert ("content-type", "application/json") in raw
    assert response.media_type == "application/json"
    assert ("x-mixmock-violations", "none") in raw
