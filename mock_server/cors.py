"""CORS for browser clients: preflights answered, allowed origins named, the mock's headers exposed.

Two policies: one for everything a web front end calls (the vendor's routes, output files, the specs,
`/`), set by `--cors-origin`, and one for the admin API, set apart by `--admin-cors-origin`, so opening
the vendor's routes to a page never opens the journal, the defaults or the rules to it. Both are closed
unless configured: the mock listens on a developer's machine, and any page that machine's browser opens
could otherwise drive it. `*` opens a policy to every origin.

A request without `Origin` passes untouched. A preflight (`OPTIONS` with `Access-Control-Request-Method`)
from an allowed origin gets 204 with the allowed methods and the requested headers; from any other origin
a 403 problem naming the origin and the setting that would allow it. Any other request from an allowed
origin gets `Access-Control-Allow-Origin`, and every header of the reply that a browser script could not
read by itself (`X-Mixmock-Example`, `X-Mixmock-Violations`, `Retry-After`...) is exposed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import Message, Receive, Scope, Send

from mock_server.problems import Problem, problem_response

__all__ = ["ANY_ORIGIN", "Cors", "CorsPolicy", "origin_problem"]

ANY_ORIGIN = "*"
MAX_AGE_S = 600
# Response headers a script may read without their being exposed (the Fetch standard's safelist).
_SAFELISTED = frozenset(
    {b"cache-control", b"content-language", b"content-length", b"content-type", b"expires",
     b"last-modified", b"pragma"}
)  # fmt: skip
_OWN = frozenset({b"vary"})


def origin_problem(value: str) -> str | None:
    """Why `value` is no usable CORS origin (`*`, or scheme://host[:port] without a path), or None."""
    if value == ANY_ORIGIN:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as error:
        return f"{value!r} is not an origin ({error})"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return f"{value!r} is not an origin: give scheme://host[:port], e.g. http://localhost:5173, or *"
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username is not None:
        return f"{value!r} is not an origin: an origin has no path, query or user, e.g. http://localhost:5173"
    return None


@dataclass(frozen=True)
class CorsPolicy:
    """Which origins one part of the mock answers, and with which methods."""

    origins: frozenset[str]
    methods: str  # Access-Control-Allow-Methods
    setting: str  # the flag that would allow another origin, named in the refusal

    @classmethod
    def of(cls, origins: Sequence[str], methods: Sequence[str], setting: str) -> CorsPolicy:
        normalised = {origin if origin == ANY_ORIGIN else origin.rstrip("/").lower() for origin in origins}
        return cls(frozenset(normalised), ", ".join(methods), setting)

    def allowed(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value for `origin`, or None when it is not allowed."""
        if ANY_ORIGIN in self.origins:
            return ANY_ORIGIN
        return origin if origin.lower() in self.origins else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class Cors:
    """The two policies, applied to each HTTP request before it is routed (`apply`)."""

    def __init__(self, main: CorsPolicy, admin: CorsPolicy, admin_prefix: str) -> None:
        self._main = main
        self._admin = admin
        self._admin_prefix = admin_prefix

    def _policy(self, path: str) -> CorsPolicy:
        if path == self._admin_prefix or path.startswith(self._admin_prefix + "/"):
            return self._admin
        return self._main

    def preflight(self, scope: Scope) -> bool:
        return scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method") is not None

    async def answer_preflight(self, scope: Scope, receive: Receive, send: Send, origin: str) -> None:
        policy = self._policy(scope["path"])
        allowed = policy.allowed(origin)
        if allowed is None:
            detail = (
                f"origin {origin!r} may not call {scope['path'][:200]}: start the mock with "
                f"{policy.setting} {origin} (or {policy.setting} '*')"
            )
            response = problem_response(Problem(403, "cors-origin", "Origin not allowed", detail))
            await response(scope, receive, send)
            return
        headers = [
            (b"access-control-allow-origin", allowed.encode("latin-1")),
            (b"access-control-allow-methods", policy.methods.encode("latin-1")),
            (b"access-control-max-age", str(MAX_AGE_S).encode()),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            (b"content-length", b"0"),
        ]
        requested = _header(scope, b"access-control-request-headers")
        if requested:
            headers.append((b"access-control-allow-headers", requested.encode("latin-1")))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def wrap_send(self, scope: Scope, send: Send, origin: str) -> Send:
        """`send`, adding the CORS headers to the reply when `origin` is allowed."""
        allowed = self._policy(scope["path"]).allowed(origin)
        if allowed is None:
            return send

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_cors(list(message.get("headers", [])), allowed)
            await send(message)

        return send_with_cors

    @property
    def configured(self) -> bool:
        return bool(self._main.origins or self._admin.origins)

    async def apply(self, scope: Scope, receive: Receive, send: Send) -> Send | None:
        """The `send` to answer an HTTP request with (CORS headers added for an allowed origin), or None
        when the request was a preflight and has been answered here."""
        if not self.configured and scope["method"] != "OPTIONS":
            return send  # every request of a mock without CORS: no header scan
        origin = _header(scope, b"origin")
        if origin is None:
            return send
        if self.preflight(scope):
            await self.answer_preflight(scope, receive, send, origin)
            return None
        return self.wrap_send(scope, send, origin)


def _with_cors(headers: list[tuple[bytes, bytes]], allowed: str) -> list[tuple[bytes, bytes]]:
    exposed = sorted(
        {name.decode("latin-1") for name, _ in headers if name.lower() not in _SAFELISTED | _OWN}
    )
    vary = [value for name, value in headers if name.lower() == b"vary"]
    kept = [(name, value) for name, value in headers if name.lower() != b"vary"]
    kept.append((b"access-control-allow-origin", allowed.encode("latin-1")))
    kept.append((b"vary", b", ".join([*vary, b"Origin"])))
    if exposed:
        kept.append((b"access-control-expose-headers", ", ".join(exposed).encode("latin-1")))
    return kept
