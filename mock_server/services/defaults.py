"""Run-time scenario defaults (a Prefer value, ratios) set through the admin API and shared by workers.

A test sets `Prefer: scenario=processing` for every request its client sends, or `processing=0.3`,
without restarting the mock; a request's own Prefer header still wins over these defaults.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mock_server.parsing import parse_shares
from mock_server.pipeline.preferences import Prefer, PreferenceError, parse_prefer
from mock_server.state.database import close_database, open_database
from mock_server.state.session_rows import SignalledDocuments
from openapi.vocabulary import SCENARIOS

__all__ = [
    "Defaults",
    "DefaultsError",
    "DefaultsStore",
    "SQLiteDefaults",
    "decode_defaults",
    "parse_defaults",
]


class DefaultsError(ValueError):
    """Defaults the mock cannot use; the message names the field and the value."""


@dataclass(frozen=True)
class Defaults:
    prefer: str | None = None  # a Prefer header value that requests without that preference get
    ratios: Mapping[str, float] | None = None  # replaces the configured ratios while set
    parsed: Prefer = field(default=Prefer(), compare=False, repr=False)  # `prefer`, read once

    @classmethod
    def of(cls, prefer: str | None, ratios: Mapping[str, float] | None) -> Defaults:
        """Defaults with `prefer` parsed; PreferenceError names a bad value."""
        return cls(prefer, ratios, parse_prefer([prefer], "defaults") if prefer else Prefer())

    @property
    def empty(self) -> bool:
        return self.prefer is None and self.ratios is None

    def as_dict(self) -> dict[str, Any]:
        return {"prefer": self.prefer, "ratios": None if self.ratios is None else dict(self.ratios)}


def decode_defaults(raw: str | bytes | None) -> Defaults:
    """Defaults as a store keeps them (`as_dict` in JSON; None: none set)."""
    if raw is None:
        return Defaults()
    data = json.loads(raw)
    return Defaults.of(data.get("prefer"), data.get("ratios"))


def parse_defaults(body: Any) -> Defaults:
    """Defaults from an admin request body; DefaultsError naming any bad value."""
    if not isinstance(body, Mapping):
        raise DefaultsError(f"body={body!r} must be a JSON object with prefer and/or ratios")
    unknown = set(body) - {"prefer", "ratios"}
    if unknown:
        raise DefaultsError(f"body={sorted(unknown)!r} holds unknown fields; known: prefer, ratios")
    prefer, ratios = body.get("prefer"), body.get("ratios")
    if prefer is not None and not isinstance(prefer, str):
        raise DefaultsError(f"prefer={prefer!r} must be a Prefer header value such as 'scenario=processing'")
    if ratios is not None and not isinstance(ratios, Mapping):
        raise DefaultsError(f"ratios={ratios!r} must be an object of scenario: share")
    try:
        shares = None if ratios is None else parse_shares(ratios, SCENARIOS, "scenario")
        return Defaults.of(prefer or None, shares)
    except PreferenceError as error:
        raise DefaultsError(str(error)) from None
    except ValueError as error:
        raise DefaultsError(f"ratios: {error}") from None


class DefaultsStore(Protocol):
    """Where the run-time defaults live (the job store's SQLite file, or Redis), shared by every process,
    one set per session (a session without its own has none: never the default session's); methods
    raise StoreError on failure."""

    def get(self, session: str = "") -> Defaults:
        """The session's current defaults; a change made through any process shows in the next call."""
        ...

    def set(self, defaults: Defaults, session: str = "") -> None: ...

    def clear(self, session: str = "") -> None: ...

    def close(self) -> None: ...


def _read_defaults(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT doc FROM scenario_defaults WHERE id = 1").fetchone()
    return None if row is None else str(row[0])


class SQLiteDefaults:
    """The current defaults in the job store's SQLite file (one row), read by every worker.

    Reading the row costs a SQLite read transaction, and every request asks. So each change also touches
    a signal file beside the store (`<store>-defaults`, `state/signal.py`, kept small), and `get` reads
    the row again only when its version differs from the one at the last read: a stat() per request,
    and a change made through any process is seen by the next request in every process. Sessions other
    than the default keep theirs in `session_defaults` (`state/session_rows.py`), under the same signal.
    """

    def __init__(self, path: str) -> None:
        self._database = open_database(path)
        self._closed = False
        self._documents = SignalledDocuments(
            self._database, "defaults", "session_defaults", decode_defaults, _read_defaults
        )
        try:
            with self._database.writing as db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS scenario_defaults (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)"
                )
        except BaseException:
            self.close()
            raise

    def get(self, session: str = "") -> Defaults:
        return self._documents.get(session)

    def set(self, defaults: Defaults, session: str = "") -> None:
        self._write(session, json.dumps(defaults.as_dict()))

    def clear(self, session: str = "") -> None:
        self._write(session, None)

    def _write(self, session: str, doc: str | None) -> None:
        with self._database.writing as db:
            if session:
                self._documents.rows.write(db, session, doc)
            elif doc is None:
                db.execute("DELETE FROM scenario_defaults")
            else:
                db.execute("INSERT OR REPLACE INTO scenario_defaults (id, doc) VALUES (1, ?)", (doc,))
        self._documents.changed()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close_database(self._database)
