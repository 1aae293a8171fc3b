"""The proxy's only door out: what it may call, with connect, read and total deadlines and size caps.

Three kinds of call, each with its own allow rule, decided here and nowhere else:
`target` (the `--target` origin only), `download` (an output file on the target or a `--download-host`)
and `webhook` (relaying a webhook to the client's URL, on a `--webhook-allow-host` only). Redirects are
never followed, proxy variables of the environment are ignored, and a reply larger than its cap is cut
off while it streams in, never buffered whole.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import httpx
from starlette.responses import Response

from mock_server.proxy.urls import UrlPlan
from mock_server.services.webhooks import WebhookPolicy, refusal

__all__ = [
    "HOP_BY_HOP",
    "Deadlines",
    "Door",
    "Forwarder",
    "Upstream",
    "UpstreamError",
    "forwardable",
    "relayed",
]

Door = Literal["target", "download", "webhook"]
# Headers that describe one connection, not the message (RFC 9110 section 7.6.1), and those httpx sets.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
        "accept-encoding",
    }
)


_OWN_HEADERS = frozenset({"date", "server"})  # the server answering the client sends its own


def forwardable(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP]


def relayed(
    content: bytes, status: int, headers: Sequence[tuple[str, str]], extra: Mapping[str, str]
) -> Response:
    """A reply received (or recorded) elsewhere, sent on: its headers, multi-valued ones kept, then ours."""
    own = {name.lower() for name in extra} | _OWN_HEADERS
    kept = [(name, value) for name, value in forwardable(headers) if name.lower() not in own]
    content_type = next((value for name, value in kept if name.lower() == "content-type"), "")
    response = Response(content, status_code=status, media_type=content_type.split(";")[0].strip() or None)
    response.raw_headers = [(name, value) for name, value in response.raw_headers if name != b"content-type"]
    response.raw_headers.extend(
        (name.lower().encode("latin-1", "replace"), value.encode("latin-1", "replace"))
        for name, value in [*kept, *extra.items()]
    )
    return response


@dataclass(frozen=True)
class Deadlines:
    connect_s: float = 10.0
    read_s: float = 30.0
    total_s: float = 60.0


@dataclass(frozen=True)
class Upstream:
    """A reply received in full: status, headers, the (decoded) body, and when and how fast it came."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    content: bytes
    started_at: float  # seconds since the epoch
    wait_s: float  # until the status line and headers arrived
    receive_s: float  # reading the body

    @property
    def content_type(self) -> str:
        return next((value for name, value in self.headers if name.lower() == "content-type"), "")


class UpstreamError(Exception):
    """No usable reply: refused by the door, unreachable, too slow or too large. The message says which."""


class Forwarder:
    def __init__(
        self,
        plan: UrlPlan,
        webhooks: WebhookPolicy,
        deadlines: Deadlines,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plan = plan
        self._webhooks = webhooks
        self._deadlines = deadlines
        self._client = client or httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self._clock = clock

    def refusal(self, door: Door, url: str) -> str | None:
        """Why `url` may not be called through `door`, or None."""
        if door == "target":
            return None if self.plan.on_target(url) else f"{url!r} is not on the target {self.plan.target}"
        if door == "download":
            if self.plan.may_download(url):
                return None
            return f"{url!r} is neither on the target nor on a --download-host"
        return refusal(url, self._webhooks)

    async def send(
        self,
        door: Door,
        method: str,
        url: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        content: bytes | None = None,
        max_bytes: int,
    ) -> Upstream:
        why = self.refusal(door, url)
        if why is not None:
            raise UpstreamError(f"refused: {why}")
        deadlines = self._deadlines
        timeout = httpx.Timeout(deadlines.read_s, connect=deadlines.connect_s)
        started_at, started = self._clock(), time.monotonic()
        try:
            async with asyncio.timeout(deadlines.total_s):
                request = self._client.build_request(
                    method, url, headers=forwardable(headers), content=content, timeout=timeout
                )
                reply = await self._client.send(request, stream=True)
                try:
                    waited = time.monotonic() - started
                    body = await _read_capped(reply, max_bytes)
                finally:
                    await reply.aclose()
        except TimeoutError:
            raise UpstreamError(f"no complete reply from {url} within {deadlines.total_s:g} s") from None
        except httpx.ConnectTimeout:
            raise UpstreamError(f"connecting to {url} took more than {deadlines.connect_s:g} s") from None
        except httpx.ReadTimeout:
            raise UpstreamError(f"{url} sent nothing for {deadlines.read_s:g} s") from None
        except httpx.HTTPError as error:
            raise UpstreamError(f"{url}: {type(error).__name__}: {error}".rstrip(": ")) from None
        return Upstream(
            status=reply.status_code,
            reason=reply.reason_phrase,
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in reply.headers.raw],
            content=body,
            started_at=started_at,
            wait_s=waited,
            receive_s=time.monotonic() - started - waited,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


async def _read_capped(reply: httpx.Response, max_bytes: int) -> bytes:
    declared = reply.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes and "content-encoding" not in reply.headers:
        raise UpstreamError(f"the reply is larger than {max_bytes} bytes (Content-Length: {declared})")
    body = bytearray()
    async for chunk in reply.aiter_bytes():  # decoded: a compressed bomb is capped by what it expands to
        body += chunk
        if len(body) > max_bytes:
            raise UpstreamError(f"the reply is larger than {max_bytes} bytes")
    return bytes(body)
