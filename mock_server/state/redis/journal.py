"""The request journal on Redis: one stream that every replica appends to and any replica reads.

Keys (under the prefix): `journal` (a stream; entry ids are `<seq>-1`, seq from `journal:seq`, so the
journal's order is one sequence across replicas), `journal:seq`, and `journal:bytes` (the stored size of
the stream's documents). The same bounds as the SQLite journal, kept exactly: each write is one script
that appends a batch, then drops the oldest entries while there are more than `max_entries` or their
documents add up to more than `max_bytes`.

Write-behind, like the SQLite journal: a process buffers entries and writes them in one script call at
every flush (its server flushes every `FLUSH_EVERY_S`, and before each of its own reads); a batch that
cannot be written is given up, never kept growing. Reads walk the stream back from the newest entry
`READ_BATCH` entries at a time and stop once `limit` matches are found.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import redis

from mock_server.services.journal import (
    READ_BATCH,
    EntryFilter,
    JournalEntry,
    WriteBehind,
    decode_entry,
    encode_entry,
    newest_matching,
)
from mock_server.state.redis.connection import Keys, guarded, shown

__all__ = ["RedisJournal"]

# KEYS: stream, seq, bytes. ARGV: max entries, max bytes, then one doc per entry.
_APPEND = """
local count = #ARGV - 2
local first = redis.call('INCRBY', KEYS[2], count) - count
local added = 0
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], (first + i - 3) .. '-1', 'doc', ARGV[i])
  added = added + #ARGV[i]
end
local total = redis.call('INCRBY', KEYS[3], added)
local entries = redis.call('XLEN', KEYS[1])
local max_entries, max_bytes = tonumber(ARGV[1]), tonumber(ARGV[2])
while entries > max_entries or total > max_bytes do
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 64)
  if #oldest == 0 then total = 0 break end
  local gone = {}
  for _, item in ipairs(oldest) do
    if entries <= max_entries and total <= max_bytes then break end
    table.insert(gone, item[1])
    total = total - #item[2][2]
    entries = entries - 1
  end
  redis.call('XDEL', KEYS[1], unpack(gone))
end
redis.call('SET', KEYS[3], total)
return count
"""


# One session's entries go; the stored size follows. KEYS: stream, bytes. ARGV: the session.
_CLEAR_SESSION = """
local cursor, removed = '-', 0
while true do
  local batch = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 256)
  if #batch == 0 then break end
  local gone = {}
  for _, item in ipairs(batch) do
    local session = cjson.decode(item[2][2])['session']
    if session == nil or session == cjson.null then session = '' end
    if session == ARGV[1] then
      table.insert(gone, item[1])
      removed = removed + #item[2][2]
    end
  end
  if #gone > 0 then redis.call('XDEL', KEYS[1], unpack(gone)) end
  cursor = '(' .. batch[#batch][1]
end
if removed > 0 then redis.call('DECRBY', KEYS[2], removed) end
return removed
"""


class RedisJournal(WriteBehind):
    networked = True

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        max_entries: int = 10_000,
        max_bytes: int = 64 << 20,
        flush_every: int = 128,
        store_url: str = "",
    ) -> None:
        for name, value in {
            "max_entries": max_entries,
            "max_bytes": max_bytes,
            "flush_every": flush_every,
        }.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value!r}")
        self.store_url = shown(store_url) if store_url else "redis"
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._flush_every = flush_every
        self._redis: Any = client
        self._keys = [keys("journal"), keys("journal:seq"), keys("journal:bytes")]
        self._append = self._redis.register_script(_APPEND)
        self._clear_session = self._redis.register_script(_CLEAR_SESSION)
        self._pending: list[JournalEntry] = []
        self._lock = threading.Lock()

    @guarded
    def flush(self) -> int:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        docs = [encode_entry(entry) for entry in batch]
        self._append(keys=self._keys, args=[self.max_entries, self.max_bytes, *docs])
        return len(batch)

    @guarded
    def entries(
        self, filters: Sequence[EntryFilter] = (), *, limit: int | None = None, before: int | None = None
    ) -> list[JournalEntry]:
        """Matching entries with `seq` below `before`, oldest first; `limit` keeps the newest ones."""
        self.flush()
        upper = "+" if before is None else f"({max(before, 0)}-0"
        return newest_matching(self._newest_first(upper), filters, limit)

    def _newest_first(self, upper: str) -> Iterator[JournalEntry]:
        """The stream's entries up to `upper`, newest first, READ_BATCH a read."""
        while True:
            batch = self._redis.xrevrange(self._keys[0], upper, "-", count=READ_BATCH)
            yield from (
                decode_entry(int(stream_id.split(b"-")[0]), fields[b"doc"]) for stream_id, fields in batch
            )
            if len(batch) < READ_BATCH:
                return
            upper = "(" + batch[-1][0].decode()

    @guarded
    def clear(self, session: str | None = None) -> None:
        with self._lock:
            self._pending = [] if session is None else [e for e in self._pending if e.session != session]
        if session is None:
            self._redis.delete(self._keys[0], self._keys[2])
        else:  # at most `max_entries` entries to look at, in one script
            self._clear_session(keys=[self._keys[0], self._keys[2]], args=[session])

    @guarded
    def __len__(self) -> int:
        self.flush()
        return int(self._redis.xlen(self._keys[0]))

    def close(self) -> None:
        try:
            self.flush()
        except Exception:  # closing with Redis gone: the buffered entries are inspection data, not jobs
            self._pending = []
        self._redis.close()
