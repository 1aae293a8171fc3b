"""The run-time rules on Redis: one key holds the set, a channel tells every replica it changed.

A change is an optimistic transaction (WATCH the key, read, MULTI, SET and PUBLISH, EXEC; again when
another writer came first), so two replicas adding rules at once both keep theirs. Readers keep the set
they read and read it again only after a change message (`changes.py`).
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
    def __init__(self, client: redis.Redis, keys: Keys, store_url: str = "") -> None:
        self.store_url = shown(store_url) if store_url else "redis"
        self._redis: Any = client
        self._key = keys("rules")
        self._value = WatchedKey(client, self._key, keys("rules:changed"), RuleSet.from_json)

    @guarded
    def load(self) -> RuleSet:
        return self._value.get()

    @guarded
    def update(self, change: Callable[[RuleSet], RuleSet]) -> RuleSet:
        def attempt(pipe: Any) -> RuleSet:
            current = RuleSet.from_json(pipe.get(self._key))
            changed = change(current)
            if changed is not current:
                pipe.multi()
                pipe.set(self._key, changed.to_json())
                pipe.publish(self._value.feed.channel, "changed")
            return changed

        updated: RuleSet = self._redis.transaction(attempt, self._key, value_from_callable=True)
        return updated

    def close(self) -> None:
        self._value.feed.reset()
        self._redis.close()
