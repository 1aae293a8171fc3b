"""The HTTP client for the mock's own outbound calls (webhook POSTs, input image downloads).

No proxy from the environment (it would route around the host checks), and no redirect followed or
even half-followed: httpx builds the next request of a 3xx reply itself, and a `Location` such as
`data:,x` made it raise `InvalidURL` from the call. A redirect leaves as `Redirected`, carrying the
status and the location, for the caller to log or to follow under its own checks.
"""

from __future__ import annotations

import httpx

__all__ = ["Redirected", "outbound_client"]


class Redirected(Exception):  # noqa: N818 - a reply, not an error of the mock
    """The server answered a redirect; nothing was followed."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(f"HTTP {status} redirect to {location[:200]!r}")
        self.status = status
        self.location = location


async def _stop_at_redirect(response: httpx.Response) -> None:
    if response.is_redirect:
        raise Redirected(response.status_code, response.headers["location"])


def outbound_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An AsyncClient that never reads proxies from the environment and raises `Redirected` on a 3xx."""
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        event_hooks={"response": [_stop_at_redirect]},
    )
