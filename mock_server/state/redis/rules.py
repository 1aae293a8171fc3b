"""The run-time rules on Redis: one key holds the set, a channel tells every replica it changed.

A change is an optimistic transaction (WATCH the key, read, MULTI, SET and PUBLISH, EXEC; again when
another writer came first), so two replicas adding rules at once both keep theirs. Readers keep the set
they read and read it again only after a change message (`changes.py`). A session other than the
default keeps its set in `rules:session:<id>`, which expires with the jobs (`job_ttl_s` after its last
change), and changes it under the same channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from mock_server.services.rules import RuleSet
from mock_server.state.redis.changes import WatchedKey
from mock_server.state.redis.connection import Keys, guarded, shown

__all__ = ["RedisRules"]


class RedisRules:
    def __init__(self, client: redis.Redis, keys: Keys, store_url: str = "", ttl_s: float = 86400) -> None:
        self.store_url = shown(store_url) if store_url else "redis"
        self._redis: Any = client
        self._value = WatchedKey(client, keys("rules"), keys("rules:changed"), RuleSet.from_json)
        self._ttl_ms = max(1, int(ttl_s * 1000))

    @guarded
    def load(self, session: str = "") -> RuleSet:
        return self._value.get(session)

    @guarded
    def update(self, change: Callable[[RuleSet], RuleSet], session: str = "") -> RuleSet:
        key = self._value.session_key(session)
        expiry = self._ttl_ms if session else None

        def attempt(pipe: Any) -> RuleSet:
            current = RuleSet.from_json(pipe.get(key))
            changed = change(current)
            if changed is not current:
                pipe.multi()
                pipe.set(key, changed.to_json(), px=expiry)
                pipe.publish(self._value.feed.channel, "changed")
            return changed

        updated: RuleSet = self._redis.transaction(attempt, key, value_from_callable=True)
        if session:  # this process's own message may arrive a moment after the reply
            self._value.remember(session, updated, self._ttl_ms / 1000)
        return updated

    def close(self) -> None:
        self._value.feed.reset()
        self._redis.close()
