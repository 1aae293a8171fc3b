"""The only door to the target: a hard request budget, a rate limit, the key injected, a corpus kept.

Every request the audit makes (API calls, fetch polls, image downloads) passes here and counts
against the budget. Requests generated from the specs alone go into the corpus, whose hash is the
same for any target given the same seed; requests built from a reply (polls, downloads) do not.

A hostile or broken target cannot hold the audit: every exchange has one total deadline (connect,
headers and the whole body), a size cap, and a JSON depth bound; downloads go only to the audited
origin (and hosts the user names), and redirects are followed only within them.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from conformance.cases import KEY_MARKER, Case, RawBody, render_value
from conformance.redact import Redactor
from conformance.reproduce import curl

__all__ = [
    "IMAGE_LIMIT",
    "JSON_DEPTH",
    "JSON_LIMIT",
    "AuditClient",
    "BudgetExhaustedError",
    "DeadlineError",
    "Exchange",
    "RunCutShortError",
    "TargetLostError",
    "TargetUnreachableError",
    "host_allowed",
    "parse_json",
]

JSON_LIMIT = 2 * 1024 * 1024  # bytes of an API reply; the vendor's replies are a few kB
IMAGE_LIMIT = 32 * 1024 * 1024  # bytes of a downloaded image (a 1024 x 1024 PNG is at most ~4 MB)
JSON_DEPTH = 64  # nesting levels of a reply; the vendor's replies have three
MAX_REDIRECTS = 3
SILENT_LIMIT = 3  # requests in a row without a reply before the audit stops asking


class RunCutShortError(Exception):
    """The run cannot go on: what it learned so far is reported, and the verdict is "incomplete"."""


class BudgetExhaustedError(RunCutShortError):
    def __init__(self, budget: int) -> None:
        super().__init__(f"the budget of {budget} requests is spent")
        self.budget = budget


class DeadlineError(RunCutShortError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the time limit of {seconds:g} s is reached")


class TargetLostError(RunCutShortError):
    def __init__(self, origin: str, reason: str) -> None:
        super().__init__(f"the target {origin} stopped answering: {reason}")


class TargetUnreachableError(Exception):
    """Nothing usable came back from the target at all: a usage-level error (exit 2)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url


class _TooLargeError(Exception):
    pass


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
    seq: int = 0  # the cassette entry (1-based: the line of cassette.ndjson); 0 when nothing was sent
    skipped: str = ""  # why the request was not sent (a host outside the audited origin)
    request_text: str = ""  # the body as sent, with KEY_MARKER in place of the key
    request_type: str = ""
    request_headers: Mapping[str, str] = field(default_factory=dict)  # other than Content-Type
    redactor: Redactor | None = field(default=None, repr=False, compare=False)

    @property
    def curl(self) -> str:
        """A one-line reproducer of the request (the key as $MIXMOCK_AUDIT_KEY); "" when none was sent."""
        if not self.seq:
            return ""
        return curl(self.method, self.url, self.request_text, self.request_type, self.request_headers)

    @functools.cached_property
    def json(self) -> Any:
        return parse_json(self.content)

    def show(self, value: Any, limit: int = 80) -> str:
        """A value from this exchange as a finding shows it: the key removed first, then shortened."""
        return render_value(value, limit, self.redactor.text if self.redactor is not None else None)

    @property
    def json_problem(self) -> str:
        """Why a body that looks like JSON cannot be used ("" when it can, or is not JSON at all)."""
        return _json_problem(self.content)

    @property
    def text(self) -> str:
        """The reply as text, the key removed, for showing a body that is not JSON."""
        text = self.content[:4096].decode("utf-8", errors="replace")
        return self.redactor.text(text) if self.redactor is not None else text


def _depth(value: Any, limit: int) -> int:
    """The nesting depth of a parsed value, counted without recursion and cut at `limit` + 1."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


def _load(content: bytes) -> tuple[Any, str]:
    try:
        value = json.loads(content)
    except RecursionError:
        return None, f"a JSON body nested deeper than {JSON_DEPTH} levels"
    except (ValueError, UnicodeDecodeError):
        return None, ""
    if _depth(value, JSON_DEPTH) > JSON_DEPTH:
        return None, f"a JSON body nested deeper than {JSON_DEPTH} levels"
    return value, ""


def parse_json(content: bytes) -> Any:
    """The JSON value of a body, or None when it is not JSON (or nested too deep to trust)."""
    return _load(content)[0]


def _json_problem(content: bytes) -> str:
    return _load(content)[1]


def _as_recorded(text: str) -> Any:
    """A request body for the cassette: its JSON value where it is JSON, else its text (None: no body)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value if _depth(value, JSON_DEPTH) <= JSON_DEPTH else text


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """`host` matches a name as written, a `*.suffix`, or `*` (any)."""
    host = host.lower()
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def _encode(body: Any, *, with_key: bool) -> tuple[str, str]:
    """The body's text and its content type; `with_key` sets the `key` field to KEY_MARKER."""
    if isinstance(body, RawBody):
        return body.text, body.content_type
    if isinstance(body, bytes):
        return body.decode("latin-1"), "application/json"
    if isinstance(body, Mapping) and with_key:
        body = {**body, "key": KEY_MARKER}
    return json.dumps(body, ensure_ascii=True), "application/json"


def _inflate(content: bytes, encoding: str, limit: int) -> bytes:
    """A compressed body decoded, never past `limit` bytes (a gzip bomb is cut, not inflated)."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}.get(encoding)
    if wbits is None:
        raise _TooLargeError(f"unsupported Content-Encoding {encoding!r}")
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(content, limit + 1)
    except zlib.error as error:
        raise _TooLargeError(f"a {encoding} body that does not decode ({error})") from None
    if len(out) > limit:
        raise _TooLargeError(f"a body larger than {limit // (1024 * 1024)} MiB once decoded (cut off)")
    return out


class AuditClient:
    def __init__(
        self,
        origin: str,
        key: str,
        *,
        budget: int | None = None,
        rate_limit: float | None = None,
        timeout: float = 30.0,
        max_time: float | None = None,
        download_hosts: tuple[str, ...] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.origin = origin.rstrip("/")
        self._key = key
        self._budget = budget
        self._interval = 1.0 / rate_limit if rate_limit else 0.0
        self._timeout = timeout
        self._clock, self._sleep = clock, sleep
        self._max_time = max_time
        self._deadline = None if max_time is None else clock() + max_time
        self._download_hosts = download_hosts
        self._last: float | None = None
        self._loop = asyncio.new_event_loop()
        self._http = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            headers={"Accept-Encoding": "gzip, deflate, identity"},
        )
        self.redactor = Redactor(key)
        self.sent = 0
        self.answered = 0
        self._silent = 0
        self.corpus: list[dict[str, Any]] = []
        self.cassette: list[dict[str, Any]] = []  # every exchange, redacted: the audit trail
        self.dry_run = False  # record what would be sent; send nothing
        self.log: list[tuple[str, str, str]] = []  # dry run: (method, path, what the request is about)

    def close(self) -> None:
        self._loop.run_until_complete(self._http.aclose())
        self._loop.close()

    def __enter__(self) -> AuditClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        # The key field holds the marker unless the case sends another key (or none) on purpose.
        marker = case.key_override is None and not case.omit_key
        text, content_type = _encode(case.body if marker else body, with_key=marker)
        if self.dry_run:
            about = (
                "page example"
                if case.constraint == "page example"
                else f"{case.parameter}: {case.constraint}"
            )
            self.log.append(
                (
                    case.operation.method,
                    path,
                    about if case.constraint == "page example" else f"{about}, {case.sent}",
                )
            )
        if not case.derived:
            self.corpus.append(
                {
                    "method": case.operation.method,
                    "path": path,
                    "headers": dict(case.headers),
                    "body": text,
                    "content_type": content_type,
                }
            )
        exchange = self.request(
            case.operation.method, self.origin + path, text, content_type, headers=case.headers
        )
        return body, exchange

    def post_json(self, url: str, body: Mapping[str, Any]) -> Exchange:
        """A POST of a JSON object whose `key` is the audit key (fetch polls)."""
        return self.request("POST", url, *_encode(body, with_key=True))

    def get(self, url: str) -> Exchange:
        """A download: only from the audited origin or a host named in `download_hosts`."""
        for _ in range(MAX_REDIRECTS + 1):
            refusal = self._refusal(url)
            if refusal:
                return Exchange("GET", url, skipped=refusal, redactor=self.redactor)
            exchange = self.request("GET", url, None, "", limit=IMAGE_LIMIT)
            location = exchange.headers.get("location")
            if exchange.status_code not in {301, 302, 303, 307, 308} or not location:
                return exchange
            target = urljoin(url, location)
            if self._refusal(target):
                exchange.error = f"redirected to {target}, outside the audited origin (not followed)"
                exchange.status_code = 0
                return exchange
            url = target
        exchange.error = f"more than {MAX_REDIRECTS} redirects"
        exchange.status_code = 0
        return exchange

    def _refusal(self, url: str) -> str:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - a port that is no number raises here
        except ValueError:
            return f"not a valid URL: {url}"
        if parts.scheme not in {"http", "https"}:
            return f"not an http(s) URL: {url}"
        if self.same_origin(url) or host_allowed(parts.hostname or "", self._download_hosts):
            return ""
        return f"{parts.hostname} is not the audited origin (allow it with --download-host)"

    def request(
        self,
        method: str,
        url: str,
        text: str | None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        *,
        limit: int = JSON_LIMIT,
    ) -> Exchange:
        """One exchange. `text` carries KEY_MARKER where the key goes; None sends no body."""
        if self._budget is not None and self.sent >= self._budget:
            raise BudgetExhaustedError(self._budget)
        if self._deadline is not None and self._clock() >= self._deadline:
            raise DeadlineError(self._max_time or 0.0)
        all_headers = dict(headers or {})
        if text is not None and content_type:
            all_headers["Content-Type"] = content_type
        if self.dry_run:
            self.sent += 1
            return Exchange(
                method, url, error="dry run: not sent", request_text=text or "", redactor=self.redactor
            )
        self._pace()
        self.sent += 1
        content = None if text is None else text.replace(KEY_MARKER, self._key_in(text)).encode("utf-8")
        started = self._clock()
        timeout = self._timeout
        if self._deadline is not None:
            timeout = max(0.001, min(timeout, self._deadline - started))
        exchange = self._loop.run_until_complete(
            self._exchange(method, url, content, all_headers, limit, timeout)
        )
        exchange.elapsed = self._clock() - started
        exchange.seq = len(self.cassette) + 1
        exchange.request_text = text or ""
        exchange.request_type = content_type if text is not None else ""
        exchange.request_headers = dict(headers or {})
        exchange.redactor = self.redactor
        self.cassette.append(self._recorded(exchange))
        self._account(exchange)
        return exchange

    def _key_in(self, text: str) -> str:
        """The key as it must appear where the marker stands: JSON-escaped inside a JSON string."""
        return json.dumps(self._key)[1:-1]

    def _account(self, exchange: Exchange) -> None:
        """Stops the run when the audited origin is gone, or has not answered several times in a row."""
        if not self.same_origin(exchange.url):
            return
        if not exchange.error:
            self.answered += 1
            self._silent = 0
            return
        self._silent += 1
        if self.answered == 0 and exchange.error.startswith("ConnectError"):
            raise TargetUnreachableError(self.origin, exchange.error)
        if exchange.error.startswith("ConnectError"):
            raise TargetLostError(self.origin, exchange.error)
        if self._silent >= SILENT_LIMIT:
            reason = f"{self._silent} requests in a row got no reply (last: {exchange.error})"
            if self.answered == 0:
                raise TargetUnreachableError(self.origin, reason)
            raise TargetLostError(self.origin, reason)

    async def _exchange(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        limit: int,
        timeout: float,
    ) -> Exchange:
        try:
            async with asyncio.timeout(timeout):
                async with self._http.stream(method, url, content=content, headers=headers) as reply:
                    body = await self._read(reply, limit)
        except TimeoutError:
            return Exchange(method, url, error=f"no complete reply within {timeout:g} s")
        except _TooLargeError as error:
            return Exchange(method, url, error=str(error))
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, ValueError, UnicodeError) as error:
            # A target's URL the audit follows (fetch_result, an output) may be no valid URL at all.
            reason = self.redactor.text(f"{type(error).__name__}: {error}")
            return Exchange(method, url, error=reason)
        return Exchange(
            method,
            url,
            reply.status_code,
            reply.headers.get("content-type", ""),
            body,
            headers={name.lower(): value for name, value in reply.headers.items()},
        )

    @staticmethod
    async def _read(reply: httpx.Response, limit: int) -> bytes:
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLargeError(f"a body of {declared} bytes, over the {limit // (1024 * 1024)} MiB cap")
        chunks, size = [], 0
        try:
            async for chunk in reply.aiter_raw():
                size += len(chunk)
                if size > limit:
                    raise _TooLargeError(f"a body larger than {limit // (1024 * 1024)} MiB (cut off)")
                chunks.append(chunk)
        except httpx.StreamConsumed:  # a transport that hands over a body already read (tests)
            chunks = [reply.content]
            if len(reply.content) > limit:
                raise _TooLargeError(f"a body larger than {limit // (1024 * 1024)} MiB (cut off)") from None
        raw = b"".join(chunks)
        encoding = reply.headers.get("content-encoding", "identity").strip().lower()
        return raw if encoding in {"", "identity"} else _inflate(raw, encoding, limit)

    def _recorded(self, exchange: Exchange) -> dict[str, Any]:
        """One cassette entry: JSON replies in full, other content (images) by size; the key filtered."""
        reply = exchange.json if "json" in exchange.content_type else None
        return {
            "seq": exchange.seq,
            "method": exchange.method,
            "url": exchange.url,
            "request": _as_recorded(exchange.request_text),
            "request_content_type": exchange.request_type,
            "status_code": exchange.status_code,
            "content_type": exchange.content_type,
            "reply": reply if reply is not None else {"bytes": len(exchange.content)},
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
        try:
            mine, theirs = urlsplit(self.origin), urlsplit(url)
        except ValueError:
            return False
        return (theirs.scheme, theirs.netloc.lower()) == (mine.scheme, mine.netloc.lower())

    def corpus_hash(self) -> str:
        canonical = json.dumps(self.corpus, sort_keys=True, ensure_ascii=True, default=repr)
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()
