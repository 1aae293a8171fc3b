"""The request journal on Redis: one capped stream that every replica appends to and any replica reads.

Keys (under the prefix): `journal` (a stream; entry ids are `<seq>-1`, seq from `journal:seq`, so the
journal's order is one sequence across replicas) and `journal:seq`. The stream is trimmed to about
`max_entries` on every write (`XADD MAXLEN ~`: Redis trims whole nodes, so it may keep up to ~100 more,
never fewer); reads never return more than `max_entries`.

Write-behind, like the SQLite journal: a process buffers entries and writes them in one script call at
every flush (its server flushes every `FLUSH_EVERY_S`, and before each of its own reads). Reads walk the
stream from the newest end a page at a time and stop once `limit` matches are found.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import redis

from mock_server.services.journal import EntryFilter, JournalEntry, decode_entry, encode_entry, matches
from mock_server.state.redis.connection import Keys, guarded, shown

__all__ = ["RedisJournal"]

_PAGE = 500

# KEYS: stream, seq. ARGV: max entries, then one doc per entry.
_APPEND = """
local first = redis.call('INCRBY', KEYS[2], #ARGV - 1) - (#ARGV - 1)
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], (first + i - 2) .. '-1', 'doc', ARGV[i])
end
return #ARGV - 1
"""


class RedisJournal:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        max_entries: int = 10_000,
        flush_every: int = 128,
        store_url: str = "",
    ) -> None:
        for name, value in {"max_entries": max_entries, "flush_every": flush_every}.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value!r}")
        self.store_url = shown(store_url) if store_url else "redis"
        self.max_entries = max_entries
        self._flush_every = flush_every
        self._redis: Any = client
        self._stream, self._seq = keys("journal"), keys("journal:seq")
        self._append = self._redis.register_script(_APPEND)
        self._pending: list[JournalEntry] = []
        self._lock = threading.Lock()

    def append(self, entry: JournalEntry) -> None:
        with self._lock:
            self._pending.append(entry)
            full = len(self._pending) >= self._flush_every
        if full:
            self.flush()

    @property
    def pending(self) -> int:
        return len(self._pending)

    @guarded
    def flush(self) -> int:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            docs = [encode_entry(entry) for entry in batch]
            self._append(keys=[self._stream, self._seq], args=[self.max_entries, *docs])
        except redis.RedisError:
            with self._lock:  # kept for the next flush: a Redis blip loses no entry, up to a bound
                self._pending = (batch + self._pending)[-self.max_entries :]
            raise
        return len(batch)

    @guarded
    def entries(self, filters: Sequence[EntryFilter] = (), *, limit: int | None = None) -> list[JournalEntry]:
        """Matching entries, oldest first; `limit` keeps the newest ones. Reads newest first, a page at a
        time, and stops at `limit` matches or `max_entries` entries read."""
        self.flush()
        wanted = self.max_entries if limit is None else min(limit, self.max_entries)
        found: list[JournalEntry] = []
        read, upper = 0, "+"
        while len(found) < wanted and read < self.max_entries:
            page = self._redis.xrevrange(self._stream, upper, "-", count=min(_PAGE, self.max_entries - read))
            if not page:
                break
            for stream_id, fields in page:
                entry = decode_entry(int(stream_id.split(b"-")[0]), fields[b"doc"])
                if matches(entry, filters):
                    found.append(entry)
                    if len(found) == wanted:
                        break
            read += len(page)
            upper = "(" + page[-1][0].decode()
        return list(reversed(found))

    @guarded
    def clear(self) -> None:
        with self._lock:
            self._pending = []
        self._redis.delete(self._stream)

    @guarded
    def __len__(self) -> int:
        self.flush()
        return min(int(self._redis.xlen(self._stream)), self.max_entries)

    def close(self) -> None:
        try:
            self.flush()
        except Exception:  # closing with Redis gone: the buffered entries are inspection data, not jobs
            self._pending = []
        self._redis.close()
