"""Webhook tokens: with `--webhooks record` or `relay`, a create request's `webhook` is replaced by
`<proxy origin>/_mixmock/proxy/webhooks/<token>`; the token names the client's URL and the operation
(in memory only, the last `limit` of them), for `receiver.py` to check, record and relay the payload.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.proxy.urls import PROXY_PREFIX
from openapi.operations import Operation

__all__ = ["WEBHOOKS_PATH", "Hook", "Hooks"]

WEBHOOKS_PATH = PROXY_PREFIX + "/webhooks"


@dataclass(frozen=True)
class Hook:
    client_url: str  # where the client asked the vendor to send the webhook
    operation: Operation  # the create operation, whose `webhooks:` branches the payload must match
    origin: str  # the proxy origin the client used: recorded file URLs in the payload point there
    created_at: float


class Hooks:
    """Tokens for webhook URLs handed to the vendor; bounded, the oldest forgotten first."""

    def __init__(self, limit: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._limit = limit
        self._clock = clock
        self._hooks: OrderedDict[str, Hook] = OrderedDict()

    def add(self, client_url: str, operation: Operation, origin: str) -> str:
        token = secrets.token_urlsafe(18)
        self._hooks[token] = Hook(client_url, operation, origin, self._clock())
        while len(self._hooks) > self._limit:
            self._hooks.popitem(last=False)
        return token

    def get(self, token: str) -> Hook | None:
        return self._hooks.get(token)

    def rewrite(self, operation: Operation, body: Any, raw: bytes, origin: str) -> tuple[bytes, str | None]:
        """The body to forward (the webhook swapped for the proxy's receiver) and the token, if any."""
        if operation.kind != "create" or not isinstance(body, dict):
            return raw, None
        url = body.get("webhook")
        if not isinstance(url, str) or not url.strip():
            return raw, None
        token = self.add(url, operation, origin)
        swapped = {**body, "webhook": f"{origin}{WEBHOOKS_PATH}/{token}"}
        return json.dumps(swapped, ensure_ascii=False).encode("utf-8"), token
