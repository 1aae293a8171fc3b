"""The only door to the target: a hard request budget, a rate limit, the key injected, a corpus kept.

Every request the audit makes (API calls, fetch polls, image downloads) passes here and counts
against the budget. Requests generated from the specs alone go into the corpus, whose hash is the
same for any target given the same seed; requests built from a reply (polls, downloads) do not.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.cases import Case
from conformance.redact import Redactor

__all__ = ["AuditClient", "BudgetExhaustedError", "Exchange", "TargetUnreachableError", "parse_json"]


class BudgetExhaustedError(Exception):
    def __init__(self, budget: int) -> None:
        super().__init__(f"request budget of {budget} spent")
        self.budget = budget


class TargetUnreachableError(Exception):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url


@dataclass
class Exchange:
    """One request and its reply; `error` is set (and `status_code` is 0) when no reply came."""

    method: str
    url: str
    status_code: int = 0
    content_type: str = ""
    content: bytes = b""
    error: str = ""
    elapsed: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return parse_json(self.content)


def parse_json(content: bytes) -> Any:
    """The JSON value of a body, or None when it is not JSON."""
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=True).encode("utf-8")


class AuditClient:
    def __init__(
        self,
        origin: str,
        key: str,
        *,
        budget: int | None = None,
        rate_limit: float | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.origin = origin.rstrip("/")
        self._key = key
        self._budget = budget
        self._interval = 1.0 / rate_limit if rate_limit else 0.0
        self._clock, self._sleep = clock, sleep
        self._last: float | None = None
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self.redactor = Redactor(key)
        self.sent = 0
        self.corpus: list[dict[str, Any]] = []
        self.cassette: list[dict[str, Any]] = []  # every exchange, redacted: the audit trail

    def close(self) -> None:
        self._http.close()

    def key_body(self) -> dict[str, str]:
        """The body of a fetch: the key alone."""
        return {"key": self._key}

    def body_for(self, case: Case) -> Any:
        if not isinstance(case.body, Mapping) or case.omit_key:
            return case.body
        return {**case.body, "key": case.key_override if case.key_override is not None else self._key}

    def send(self, case: Case) -> tuple[Any, Exchange]:
        """Sends a case to its operation; returns the body actually sent (with key) and the exchange."""
        body = self.body_for(case)
        path = case.operation.url_path(case.path_parameters)
        if not case.derived:
            self.corpus.append(
                {
                    "method": case.operation.method,
                    "path": path,
                    "headers": dict(case.headers),
                    "body": self.redactor.data(body),
                }
            )
        exchange = self.request(case.operation.method, self.origin + path, body, headers=case.headers)
        return body, exchange

    def post_json(self, url: str, body: Any) -> Exchange:
        return self.request("POST", url, body)

    def get(self, url: str) -> Exchange:
        return self.request("GET", url, None)

    def request(self, method: str, url: str, body: Any, headers: Mapping[str, str] | None = None) -> Exchange:
        if self._budget is not None and self.sent >= self._budget:
            raise BudgetExhaustedError(self._budget)
        self._pace()
        self.sent += 1
        all_headers = {"Content-Type": "application/json", **(headers or {})} if body is not None else {}
        started = self._clock()
        try:
            reply = self._http.request(
                method, url, content=_encode(body) if body is not None else None, headers=all_headers
            )
        except httpx.HTTPError as error:
            reason = self.redactor.text(f"{type(error).__name__}: {error}")
            if self.sent == 1 and isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
                raise TargetUnreachableError(self.origin, reason) from None
            exchange = Exchange(method, url, error=reason, elapsed=self._clock() - started)
        else:
            exchange = Exchange(
                method,
                url,
                reply.status_code,
                reply.headers.get("content-type", ""),
                reply.content,
                elapsed=self._clock() - started,
                headers=dict(reply.headers),
            )
        self.cassette.append(self._recorded(exchange, body))
        return exchange

    def _recorded(self, exchange: Exchange, body: Any) -> dict[str, Any]:
        """One cassette entry: JSON replies in full, other content (images) by size; the key filtered."""
        reply = exchange.json if exchange.content_type.startswith("application/") else None
        return {
            "seq": self.sent,
            "method": exchange.method,
            "url": self.redactor.text(exchange.url),
            "request": self.redactor.data(body),
            "status_code": exchange.status_code,
            "content_type": exchange.content_type,
            "reply": self.redactor.data(reply) if reply is not None else {"bytes": len(exchange.content)},
            "error": exchange.error,
            "elapsed_ms": round(exchange.elapsed * 1000, 1),
        }

    def _pace(self) -> None:
        if self._interval and self._last is not None:
            wait = self._last + self._interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last = self._clock()

    def same_origin(self, url: str) -> bool:
        return urlsplit(url).netloc == urlsplit(self.origin).netloc

    def corpus_hash(self) -> str:
        canonical = json.dumps(self.corpus, sort_keys=True, ensure_ascii=True, default=repr)
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()
