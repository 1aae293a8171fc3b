"""Run-time scenario defaults on Redis: one key, and a channel that tells every replica it changed.

Every request asks for the defaults, so a round trip each time would cost more than the rest of the
request's Redis traffic. Each replica keeps the value it read and subscribes to `defaults:changed`; a change
is SET, then PUBLISHed. `get` looks at the subscription socket without waiting (a poll() call) and reads
the key again only when a message has arrived. Redis writes the message to every subscriber before the
writer's PUBLISH returns, so a request that reaches another replica after the admin call has answered
sees the new value, as with the SQLite store's signal file. A lost subscription (Redis restarted) is
re-made and the key read again.
"""

from __future__ import annotations

import contextlib
import json
import select
from typing import Any

import redis

from mock_server.services.defaults import Defaults
from mock_server.state.redis.connection import Keys, guarded, shown

__all__ = ["RedisDefaults"]


def _readable(pubsub: Any) -> bool:
    """Whether the subscription's socket has bytes waiting, or was closed (both mean: drain it).

    One poll() with no wait; redis-py's own check parses and times out, about 100 µs a request. (Not a
    MSG_DONTWAIT peek: Python waits out a socket's timeout before any recv.)
    """
    connection = pubsub.connection
    sock = getattr(connection, "_sock", None) if connection is not None else None
    if sock is None:
        return True
    try:
        ready, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # closed under us
        return True
    return bool(ready)


class RedisDefaults:
    def __init__(self, client: redis.Redis, keys: Keys, store_url: str = "") -> None:
        self.store_url = shown(store_url) if store_url else "redis"
        self._redis: Any = client
        self._key, self._channel = keys("defaults"), keys("defaults:changed")
        self._pubsub: Any = None  # subscribed on first use
        self._current = Defaults()

    def _changed(self) -> bool:
        """Whether the key must be read again: first use, a lost subscription, or a change message."""
        if self._pubsub is None:
            pubsub = self._redis.pubsub()
            pubsub.subscribe(self._channel)  # before the read: a change after it arrives as a message
            self._pubsub = pubsub
            self._drain()  # the confirmation, and anything that came with it
            return True
        if not _readable(self._pubsub):  # the common case: one non-blocking peek at the socket
            return False
        return self._drain()

    def _drain(self) -> bool:
        """Read every message that has arrived; whether one was a change (or the subscription broke,
        Redis restarting, say: then the key is read again, and the next call subscribes anew)."""
        changed = False
        try:
            while (message := self._pubsub.get_message(timeout=0.0)) is not None:
                changed = changed or message["type"] == "message"
        except redis.RedisError:
            self._drop_subscription()
            return True
        return changed

    def _drop_subscription(self) -> None:
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            with contextlib.suppress(redis.RedisError):  # already broken: nothing more to release
                pubsub.close()

    @guarded
    def get(self) -> Defaults:
        if not self._changed():
            return self._current
        try:
            raw = self._redis.get(self._key)
        except redis.RedisError:
            self._drop_subscription()  # read again once Redis is back
            raise
        if raw is None:
            self._current = Defaults()
        else:
            data = json.loads(raw)
            self._current = Defaults.of(data.get("prefer"), data.get("ratios"))
        return self._current

    @guarded
    def set(self, defaults: Defaults) -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key, json.dumps(defaults.as_dict()))
            pipe.publish(self._channel, "set")
            pipe.execute()
        self._current = defaults  # this process's own message may arrive a moment after the reply

    @guarded
    def clear(self) -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key)
            pipe.publish(self._channel, "clear")
            pipe.execute()
        self._current = Defaults()

    def close(self) -> None:
        self._drop_subscription()
        self._redis.close()
