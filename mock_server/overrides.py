"""Run-time scenario defaults (a Prefer value, ratios) set through the admin API and shared by workers.

A test sets `Prefer: scenario=processing` for every request its client sends, or `processing=0.3`,
without restarting the mock; a request's own Prefer header still wins over these defaults.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mock_server.database import close_database, open_database
from mock_server.faults import fault_preferences
from mock_server.preferences import parse_preferences
from mock_server.problems import MockFault
from mock_server.settings import SCENARIOS

__all__ = ["Overrides", "SQLiteOverrides", "parse_overrides"]


@dataclass(frozen=True)
class Overrides:
    prefer: str | None = None  # a Prefer header value that requests without that preference get
    ratios: Mapping[str, float] | None = None  # replaces the configured ratios while set

    @property
    def empty(self) -> bool:
        return self.prefer is None and self.ratios is None

    def as_dict(self) -> dict[str, Any]:
        return {"prefer": self.prefer, "ratios": None if self.ratios is None else dict(self.ratios)}


def _bad(name: str, value: Any, why: str) -> MockFault:
    return MockFault(400, "bad-override", "Bad override", f"{name}={value!r} {why}")


def _ratios(raw: Any) -> dict[str, float] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _bad("ratios", raw, "must be an object of scenario: share")
    ratios: dict[str, float] = {}
    for name, share in raw.items():
        if name not in SCENARIOS:
            raise _bad("ratios", name, f"is not a scenario; scenarios: {', '.join(SCENARIOS)}")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise _bad(f"ratios.{name}", share, "must be a number between 0 and 1")
        ratios[name] = float(share)
    if sum(ratios.values()) > 1 + 1e-9:
        raise _bad("ratios", raw, "add up to more than 1")
    return ratios


def parse_overrides(body: Any) -> Overrides:
    """Overrides from an admin request body; a 400 mock fault naming any bad value."""
    if not isinstance(body, Mapping):
        raise _bad("body", body, "must be a JSON object with prefer and/or ratios")
    unknown = set(body) - {"prefer", "ratios"}
    if unknown:
        raise _bad("body", sorted(unknown), "holds unknown fields; known: prefer, ratios")
    prefer = body.get("prefer")
    if prefer is not None:
        if not isinstance(prefer, str):
            raise _bad("prefer", prefer, "must be a Prefer header value such as 'scenario=processing'")
        parse_preferences([prefer])  # raises the same 400 a request with this header would get
        fault_preferences([prefer])
    return Overrides(prefer or None, _ratios(body.get("ratios")))


class SQLiteOverrides:
    """The current overrides in the job store's SQLite file (one row), read by every worker.

    Reading the row costs a SQLite read transaction, and every request asks. So each change also appends
    one byte to a signal file beside the store (`<store>-defaults`), and `get` reads the row again only
    when that file's size differs from what it was at the last read: a stat() per request, and a change
    made through any process is seen by the next request in every process.
    """

    def __init__(self, path: str) -> None:
        self._database = open_database(path)
        self._db, self._lock = self._database.connection, self._database.lock
        self._closed = False
        key = self._database.key
        self._signal = None if key == ":memory:" else key + "-defaults"
        self._seen: int | None = None  # the signal's size when `_current` was read; None: read again
        self._current = Overrides()
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS overrides (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)"
            )

    def _version(self) -> int:
        if self._signal is None:
            return 0
        try:
            return os.stat(self._signal).st_size
        except FileNotFoundError:
            return 0

    def get(self) -> Overrides:
        version = self._version()  # before the read: a change after it shows as a new size next time
        if version == self._seen:
            return self._current
        with self._lock:
            row = self._db.execute("SELECT doc FROM overrides WHERE id = 1").fetchone()
        if row is None:
            current = Overrides()
        else:
            data = json.loads(row[0])
            current = Overrides(data.get("prefer"), data.get("ratios"))
        self._current, self._seen = current, version
        return current

    def set(self, overrides: Overrides) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO overrides (id, doc) VALUES (1, ?)", (json.dumps(overrides.as_dict()),)
            )
        self._changed()

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM overrides")
        self._changed()

    def _changed(self) -> None:
        """Signal a change, after it is committed: every reader's next `get` reads the row again."""
        self._seen = None
        if self._signal is not None:
            with open(self._signal, "ab") as signal:
                signal.write(b".")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close_database(self._database)
