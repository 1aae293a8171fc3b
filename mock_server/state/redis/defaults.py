"""Run-time scenario defaults on Redis: one key, and a channel that tells every replica it changed.

Every request asks for the defaults, so a round trip each time would cost more than the rest of the
request's Redis traffic. Each replica keeps the value it read and subscribes to `defaults:changed`; a change
is SET, then PUBLISHed. `get` looks at the subscription socket without waiting (a poll() call) and reads
the key again only when a message has arrived. Redis writes the message to every subscriber before the
writer's PUBLISH returns, so a request that reaches another replica after the admin call has answered
sees the new value, as with the SQLite store's signal file. A lost subscription (Redis restarted) is
re-made and the key read again.

A session other than the default keeps its defaults in `defaults:session:<id>`, which expires with the
jobs (`job_ttl_s` after its last change), and changes it under the same channel.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from mock_server.services.defaults import Defaults, decode_defaults
from mock_server.state.redis.changes import WatchedKey
from mock_server.state.redis.connection import Keys, guarded, shown

__all__ = ["RedisDefaults"]


class RedisDefaults:
    def __init__(self, client: redis.Redis, keys: Keys, store_url: str = "", ttl_s: float = 86400) -> None:
        self.store_url = shown(store_url) if store_url else "redis"
        self._redis: Any = client
        self._channel = keys("defaults:changed")
        self._value = WatchedKey(client, keys("defaults"), self._channel, decode_defaults)
        self._ttl_ms = max(1, int(ttl_s * 1000))

    def _session_key(self, session: str) -> str:
        return self._value.session_key(session)

    @guarded
    def get(self, session: str = "") -> Defaults:
        return self._value.get(session)

    @guarded
    def set(self, defaults: Defaults, session: str = "") -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(
                self._session_key(session),
                json.dumps(defaults.as_dict()),
                px=self._ttl_ms if session else None,
            )
            pipe.publish(self._channel, "set")
            pipe.execute()
        self._value.remember(session, defaults, self._ttl_ms / 1000 if session else None)

    @guarded
    def clear(self, session: str = "") -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._session_key(session))
            pipe.publish(self._channel, "clear")
            pipe.execute()
        self._value.remember(session, Defaults())

    def close(self) -> None:
        self._value.feed.reset()
        self._redis.close()
