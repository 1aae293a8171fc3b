"""Webhook deliveries and their attempt log, in a table of the job store's SQLite file.

One row per job (a job is delivered once, whichever worker finishes it); `claim_due` takes a lease on a
row so that two workers polling the same file never send the same delivery at the same time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from mock_server.state.database import close_database, open_database

__all__ = [
    "Attempt",
    "Deliveries",
    "Delivery",
    "DeliveryState",
    "SQLiteDeliveries",
    "decode_delivery",
    "encode_delivery",
]

DeliveryState = Literal["pending", "delivered", "refused", "gave_up"]


@dataclass(frozen=True)
class Attempt:
    at: float
    status: int | None  # the receiver's HTTP status; None when there was no reply
    error: str | None  # why there was no reply (connection refused, timeout, refused host)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Delivery:
    id: int
    job_id: int
    url: str
    state: DeliveryState
    next_at: float
    created_at: float
    attempts: tuple[Attempt, ...] = ()
    payload: Mapping[str, Any] | None = None  # built once the job is done; retries resend the same body
    finished_at: float | None = None  # when the job was first seen done: the retry window starts there

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL UNIQUE,
    state TEXT NOT NULL,
    next_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_due ON webhook_deliveries (state, next_at);
"""


def encode_delivery(delivery: Delivery) -> str:
    return json.dumps(delivery.as_dict(), separators=(",", ":"))


def decode_delivery(row_id: int, state: str, next_at: float, doc: str | bytes) -> Delivery:
    data = json.loads(doc)
    data.update(id=row_id, state=state, next_at=next_at)
    data["attempts"] = tuple(Attempt(**item) for item in data["attempts"])
    return Delivery(**data)


class Deliveries(Protocol):
    """Where deliveries live (the job store's SQLite file, or Redis): shared by every process of a mock."""

    def add(
        self,
        job_id: int,
        url: str,
        *,
        created_at: float,
        next_at: float,
        state: DeliveryState,
        attempt: Attempt | None = None,
    ) -> Delivery:
        """The job's delivery, created unless it exists already."""
        ...

    def update(self, delivery: Delivery) -> None: ...

    def hasten(self, job_id: int, now: float) -> bool:
        """Make a pending delivery due now; False when the job has none pending."""
        ...

    def claim_due(self, now: float, lease_s: float, limit: int = 64) -> list[Delivery]:
        """Pending deliveries due by `now`, each leased to this caller for `lease_s` seconds, atomically:
        two processes never claim the same delivery while its lease runs."""
        ...

    def for_job(self, job_id: int) -> Delivery | None: ...

    def all(self, state: DeliveryState | None = None, limit: int = 1000) -> list[Delivery]:
        """The newest `limit` deliveries (in `state`), oldest first."""
        ...

    def purge(self, before: float) -> int:
        """Forget finished deliveries created before `before` (pending ones are kept)."""
        ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


class SQLiteDeliveries:
    def __init__(self, path: str) -> None:
        self._database = open_database(path)
        self._db, self._lock = self._database.connection, self._database.lock
        self._closed = False
        with self._lock:
            self._db.executescript(_SCHEMA)

    def add(
        self,
        job_id: int,
        url: str,
        *,
        created_at: float,
        next_at: float,
        state: DeliveryState,
        attempt: Attempt | None = None,
    ) -> Delivery:
        """The job's delivery, created unless it exists already."""
        draft = Delivery(0, job_id, url, state, next_at, created_at, (attempt,) if attempt else ())
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (job_id, state, next_at, doc) VALUES (?, ?, ?, ?)",
                (job_id, state, next_at, encode_delivery(draft)),
            )
        found = self.for_job(job_id)
        if found is None:  # pragma: no cover - the row was just written
            raise RuntimeError(f"the delivery of job {job_id} was not stored")
        return found

    def update(self, delivery: Delivery) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE webhook_deliveries SET state = ?, next_at = ?, doc = ? WHERE id = ?",
                (delivery.state, delivery.next_at, encode_delivery(delivery), delivery.id),
            )

    def hasten(self, job_id: int, now: float) -> bool:
        """Make a pending delivery due now; False when the job has none pending."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE webhook_deliveries SET next_at = ? "
                "WHERE job_id = ? AND state = 'pending' AND next_at > ?",
                (now, job_id, now),
            )
        return cursor.rowcount > 0

    def claim_due(self, now: float, lease_s: float, limit: int = 64) -> list[Delivery]:
        """Pending deliveries due by `now`, each leased to this caller for `lease_s` seconds."""
        with self._lock:
            rows = self._db.execute(
                "UPDATE webhook_deliveries SET next_at = ? WHERE id IN (SELECT id FROM webhook_deliveries "
                "WHERE state = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?) "
                "RETURNING id, state, next_at, doc",
                (now + lease_s, now, limit),
            ).fetchall()
        return [decode_delivery(*row) for row in rows]

    def for_job(self, job_id: int) -> Delivery | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, state, next_at, doc FROM webhook_deliveries WHERE job_id = ?", (job_id,)
            ).fetchone()
        return None if row is None else decode_delivery(*row)

    def all(self, state: DeliveryState | None = None, limit: int = 1000) -> list[Delivery]:
        sql = "SELECT id, state, next_at, doc FROM webhook_deliveries"
        args: tuple[Any, ...] = (limit,)
        if state is not None:
            sql, args = sql + " WHERE state = ?", (state, limit)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", args).fetchall()
        return [decode_delivery(*row) for row in reversed(rows)]

    def purge(self, before: float) -> int:
        """Forget finished deliveries created before `before` (pending ones are kept)."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM webhook_deliveries "
                "WHERE state != 'pending' AND json_extract(doc, '$.created_at') < ?",
                (before,),
            )
        return cursor.rowcount

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM webhook_deliveries")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close_database(self._database)
