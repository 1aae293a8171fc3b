"""A change feed on Redis: whether a shared value changed since this process read it, without a round
trip per request.

The reader subscribes to a channel before it first reads the value; a writer changes the value and
PUBLISHes in one transaction. `changed()` looks at the subscription's socket without waiting (one
poll()), and reports a change when a message has arrived. Redis writes the message to every subscriber
before the writer's PUBLISH returns, so a read that follows the writer's reply in any replica sees the
new value. A lost subscription (Redis restarted) counts as a change, and is made again on the next call.
"""

from __future__ import annotations

import contextlib
import math
import select
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import redis

from mock_server.state.session_rows import SessionCache

__all__ = ["ChangeFeed", "WatchedKey"]

T = TypeVar("T")


class ChangeFeed:
    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._redis: Any = client
        self.channel = channel
        self._pubsub: Any = None  # subscribed on first use

    def changed(self) -> bool:
        """Whether the value must be read again: first use, a lost subscription, or a message."""
        if self._pubsub is None:
            pubsub = self._redis.pubsub()
            pubsub.subscribe(self.channel)  # before the caller's read: a later change arrives as a message
            self._pubsub = pubsub
            self._drain()  # the confirmation, and anything that came with it
            return True
        if not self._waiting():
            return False
        return self._drain()

    def _waiting(self) -> bool:
        """Bytes on the subscription's socket, or a closed socket (both: drain it).

        One poll() with no wait; redis-py's own check parses and times out, about 100 µs a request. (Not a
        MSG_DONTWAIT peek: Python waits out a socket's timeout before any recv.)
        """
        connection = self._pubsub.connection
        sock = getattr(connection, "_sock", None) if connection is not None else None
        if sock is None:
            return True
        try:
            ready, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(ready)

    def _drain(self) -> bool:
        changed = False
        try:
            while (message := self._pubsub.get_message(timeout=0.0)) is not None:
                changed = changed or message["type"] == "message"
        except redis.RedisError:
            self.reset()
            return True
        return changed

    def reset(self) -> None:
        """Forget the subscription (after a failed read): the next `changed()` subscribes anew."""
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            with contextlib.suppress(redis.RedisError):
                pubsub.close()


class WatchedKey(Generic[T]):
    """One Redis key's value, decoded, read again only when its change feed says so; and the values of
    sessions other than the default (`<key>:session:<id>`, changed under the same channel), each read
    again after any change message, or once its key's time to live has run out (an expiry sends none).

    `remember` is for this process's own write: its own message may arrive a moment after the write's
    reply."""

    def __init__(self, client: redis.Redis, key: str, channel: str, decode: Callable[[Any], T]) -> None:
        self._redis: Any = client
        self.key = key
        self.feed = ChangeFeed(client, channel)
        self._decode = decode
        self.current = decode(None)
        self.generation = 0  # counts the changes seen: a session's value read at an older one is stale
        self._sessions: SessionCache[tuple[T, float]] = SessionCache()  # (value, when its key expires)

    def session_key(self, session: str) -> str:
        return f"{self.key}:session:{session}" if session else self.key

    def get(self, session: str = "") -> T:
        if self.feed.changed():
            self.generation += 1
            try:
                raw = self._redis.get(self.key)
            except redis.RedisError:
                self.feed.reset()  # read again once Redis is back
                raise
            self.current = self._decode(raw)
        if not session:
            return self.current
        cached = self._sessions.get(session, self.generation)
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        with self._redis.pipeline(transaction=False) as pipe:  # an expiry sends no message: keep its time
            pipe.get(self.session_key(session))
            pipe.pttl(self.session_key(session))
            raw, ttl_ms = pipe.execute()
        return self.remember(session, self._decode(raw), ttl_ms / 1000 if ttl_ms >= 0 else None)

    def remember(self, session: str, value: T, ttl_s: float | None = None) -> T:
        """Keep `value` as this process's own write made it (a session's, expiring after `ttl_s`)."""
        if session:
            expires = math.inf if ttl_s is None else time.monotonic() + ttl_s
            self._sessions.put(session, self.generation, (value, expires))
        else:
            self.current = value
        return value
