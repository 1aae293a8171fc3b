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

import json
from typing import Any

import redis

from mock_server.services.defaults import Defaults
from mock_server.state.redis.changes import WatchedKey
from mock_server.state.redis.connection import Keys, guarded, shown

__all__ = ["RedisDefaults"]


def _decode(raw: str | bytes | None) -> Defaults:
    if raw is None:
        return Defaults()
    data = json.loads(raw)
    return Defaults.of(data.get("prefer"), data.get("ratios"))


class RedisDefaults:
    def __init__(self, client: redis.Redis, keys: Keys, store_url: str = "") -> None:
        self.store_url = shown(store_url) if store_url else "redis"
        self._redis: Any = client
        self._key, self._channel = keys("defaults"), keys("defaults:changed")
        self._value = WatchedKey(client, self._key, self._channel, _decode)

    @guarded
    def get(self) -> Defaults:
        return self._value.get()

    @guarded
    def set(self, defaults: Defaults) -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key, json.dumps(defaults.as_dict()))
            pipe.publish(self._channel, "set")
            pipe.execute()
        self._value.current = defaults  # this process's own message may arrive a moment after the reply

    @guarded
    def clear(self) -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key)
            pipe.publish(self._channel, "clear")
            pipe.execute()
        self._value.current = Defaults()

    def close(self) -> None:
        self._value.feed.reset()
        self._redis.close()
