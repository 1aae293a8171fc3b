"""Sessions: per-test namespaces on one mock (parallel test workers, several CI jobs on one service).

A session id is 1-64 characters of [A-Za-z0-9-]; no id is the default session "" (the mock as it is
without sessions). A request names its session in any of three ways, all equivalent:

    X-Mixmock-Session: t1                        a header
    /_session/t1/api/v6/image_editing/img_mixer  a path prefix, cut before routing (admin API too)
    {"key": "sess_t1_<the real key>", ...}       a prefix of the body's key, cut before anything reads it

Two different ids in one request are a 400 problem naming both; an invalid id is a 400 problem naming
it. URLs the mock builds for a request of a session keep the path prefix, so a client that follows
them stays in its session. What a session scopes (jobs, journal, defaults, rules, draws) is decided
where each lives; this module only tells which session a request belongs to.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Scope

from mock_server.problems import Problem

__all__ = [
    "DEFAULT_SESSION",
    "HOW",
    "KEY_PREFIX",
    "MAX_SESSIONS",
    "PATH_PREFIX",
    "SESSION_HEADER",
    "SessionRandoms",
    "check_session",
    "enter_path_session",
    "key_session",
    "path_prefix",
    "request_session",
    "session_seed",
]

DEFAULT_SESSION = ""
HOW = (
    "per-test sessions: X-Mixmock-Session: <id>, a /_session/<id>/ path prefix, or the key sess_<id>_<key> "
    "(jobs, journal, defaults, rules and draws of that session only)"
)
SESSION_HEADER = "x-mixmock-session"
PATH_PREFIX = "/_session/"
KEY_PREFIX = "sess_"
MAX_SESSIONS = 1024  # sessions whose state a process caches, or a store keeps defaults or rules for
_SCOPE_KEY = "mixmock.session"  # the path prefix's session, set on the ASGI scope once it is cut
_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def check_session(value: str, where: str) -> str:
    """`value` if it is a session id; else a Problem naming it (and `where` it came from)."""
    if _ID.fullmatch(value) is None:
        shown = value if len(value) <= 80 else f"{value[:80]}... ({len(value)} characters)"
        detail = f"{where}: session id {shown!r} must be 1 to 64 characters of A-Z, a-z, 0-9 and '-'"
        raise Problem(400, "bad-session", "Bad session", detail)
    return value


def enter_path_session(scope: Scope) -> None:
    """Cut `/_session/<id>` off the scope's path (kept as the request's session); Problem for a bad id.

    `/_session/t1` alone is the index (`/`) seen from session t1."""
    path: str = scope["path"]
    rest = path[len(PATH_PREFIX) :]
    session, slash, tail = rest.partition("/")
    check_session(session, "path prefix /_session/<id>")
    scope[_SCOPE_KEY] = session
    scope["path"] = slash + tail or "/"
    raw_path = scope.get("raw_path")
    if raw_path is not None:
        prefix = (PATH_PREFIX + session).encode()
        # the raw prefix as sent; a client that escaped part of it gets the decoded path instead
        rest_raw = raw_path[len(prefix) :] if raw_path.startswith(prefix) else scope["path"].encode()
        scope["raw_path"] = rest_raw or b"/"


def _agreed(found: str, other: str, found_where: str, other_where: str) -> str:
    if found and other and found != other:
        detail = f"two sessions in one request: {found!r} ({found_where}) and {other!r} ({other_where})"
        raise Problem(400, "session-conflict", "Two sessions", detail)
    return found or other


def request_session(scope: Scope, headers: Mapping[str, str]) -> str:
    """The session the path prefix and the header name ("" for neither); Problem for a bad or
    conflicting id. Costs a dict lookup or two for a request without either."""
    from_path: str = scope.get(_SCOPE_KEY, DEFAULT_SESSION)
    if isinstance(headers, Headers):  # a header sent twice: every value, never just the first
        values = headers.getlist(SESSION_HEADER)
    else:
        values = [headers[SESSION_HEADER]] if SESSION_HEADER in headers else []
    header = ""
    for value in values:
        named = check_session(value, f"header {SESSION_HEADER}")
        header = _agreed(header, named, f"header {SESSION_HEADER}", f"header {SESSION_HEADER} again")
    return _agreed(from_path, header, "path prefix", "header") if values else from_path


def key_session(body: Any, session: str) -> tuple[Any, str]:
    """The body with a `sess_<id>_` prefix cut off its key, and the request's session (the key's, the
    path's or the header's: the same one, or a Problem). A body without such a key comes back as it is."""
    if not isinstance(body, dict):
        return body, session
    key = body.get("key")
    if not isinstance(key, str) or not key.startswith(KEY_PREFIX):
        return body, session
    named, underscore, real_key = key[len(KEY_PREFIX) :].partition("_")
    if not underscore or _ID.fullmatch(named) is None:  # never echoed: it may be part of a real key
        detail = (
            "key: a session key is sess_<id>_<key>, the id 1 to 64 characters of A-Z, a-z, 0-9 and '-' "
            "(the key is not shown)"
        )
        raise Problem(400, "bad-session", "Bad session", detail)
    return {**body, "key": real_key}, _agreed(session, named, "path prefix or header", "key prefix")


def path_prefix(session: str) -> str:
    """What URLs built for a request of `session` start with after the origin ("" for the default)."""
    return PATH_PREFIX + session if session else ""


def session_seed(seed: int, session: str) -> int:
    """A session's own seed: sha256 of (seed, session), never Python's salted `hash`."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{session}".encode()).digest()[:8], "big")


class SessionRandoms:
    """One seeded generator per session, so that one session's draws do not depend on what others sent.

    The default session draws from the generator seeded with `seed` itself (as without sessions); the
    others from `session_seed(seed, session)`, kept for the `MAX_SESSIONS` most recently used."""

    def __init__(self, seed: int, size: int = MAX_SESSIONS) -> None:
        self.seed = seed
        self.default = random.Random(seed)
        self._size = size
        self._sessions: OrderedDict[str, random.Random] = OrderedDict()

    def get(self, session: str = DEFAULT_SESSION) -> random.Random:
        if not session:
            return self.default
        found = self._sessions.get(session)
        if found is None:
            found = self._sessions[session] = random.Random(session_seed(self.seed, session))
            if len(self._sessions) > self._size:
                self._sessions.popitem(last=False)
        else:
            self._sessions.move_to_end(session)
        return found

    def reset(self, session: str = DEFAULT_SESSION) -> None:
        """Start `session`'s draws over, as if it had drawn nothing."""
        if session:
            self._sessions.pop(session, None)
        else:
            self.default = random.Random(self.seed)

    def random(self, session: str = DEFAULT_SESSION) -> float:
        return self.get(session).random()
