"""Webhook deliveries and their attempt log: the `DeliveryStore` interface and its SQLite table (the
Redis one is `state/redis/deliveries.py`).

One delivery per job (a job is delivered once, whichever worker finishes it). A sender takes deliveries
with `claim_due`, which leases each to its owner token: while the lease runs, no other sender gets it and
`hasten` leaves it alone, so an attempt in flight is never doubled. `release` appends the attempt to the
log (always: the POST happened) and, if the owner still holds the lease, writes the new state and frees
the delivery. `tests/unit/mock_server/services/test_delivery_store_contract.py` checks every backend.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from mock_server.state.database import close_database, open_database
from mock_server.state.jobs import Page, Window

__all__ = [
    "Attempt",
    "Delivery",
    "DeliveryState",
    "DeliveryStore",
    "SQLiteDeliveries",
    "Turn",
    "decode_delivery",
    "encode_attempt",
    "encode_delivery",
]

DeliveryState = Literal["pending", "delivered", "refused", "gave_up"]


@dataclass(frozen=True)
class Attempt:
    at: float
    status: int | None  # the receiver's HTTP status; None when there was no reply
    error: str | None  # why there was no reply (connection refused, timeout, refused host), or a redirect

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Turn:
    """How a sender's turn at a delivery ends: its next state and when to look again, the attempt it
    made (if it POSTed), and the payload and finish time to keep (once known)."""

    state: DeliveryState
    next_at: float
    attempt: Attempt | None = None
    payload: Mapping[str, Any] | None = None
    finished_at: float | None = None


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
    session: str = ""  # the job's session (mock_server/sessions.py): whose admin views show it

    @classmethod
    def new(
        cls,
        job_id: int,
        url: str,
        *,
        created_at: float,
        next_at: float,
        state: DeliveryState,
        attempt: Attempt | None = None,
        session: str = "",
    ) -> Delivery:
        """A delivery to add (`DeliveryStore.add`), with its first attempt if it has one already (a
        refused webhook's); the store gives its id."""
        attempts = (attempt,) if attempt else ()
        return cls(0, job_id, url, state, next_at, created_at, attempts, session=session)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DeliveryStore(Protocol):
    """Where deliveries live; every method raises StoreError when the store fails."""

    def add(self, draft: Delivery) -> Delivery:
        """The delivery of the draft's job (`Delivery.new`), created unless the job has one already (then
        that one is returned as it is); the store gives its id."""
        ...

    def claim_due(self, now: float, *, owner: str, lease_s: float, limit: int = 64) -> list[Delivery]:
        """Pending deliveries due by `now` that no lease holds, each leased to `owner` until
        `now + lease_s`, atomically: two callers never get the same delivery while its lease runs."""
        ...

    def hasten(self, job_id: int, now: float) -> bool:
        """Make the job's pending delivery due at `now`, unless a lease holds it (an attempt is in
        flight); True when it was moved."""
        ...

    def release(self, delivery_id: int, owner: str, turn: Turn) -> bool:
        """End `owner`'s turn, atomically: `turn.attempt` is appended to the log whoever holds the lease
        now (every POST sent is logged); `state`, `next_at` (and `payload`, `finished_at` when given) are
        written and the lease freed only if `owner` still holds it. True when they were written."""
        ...

    def for_job(self, job_id: int) -> Delivery | None: ...

    def page(self, window: Window, state: DeliveryState | None = None) -> Page[Delivery]:
        """The deliveries in `window` (only those in `state` when given), oldest first, read one at a
        time: a page reads at most one delivery beyond what it returns."""
        ...

    def purge(self, before: float) -> int:
        """Forget finished deliveries created before `before` (pending ones are kept)."""
        ...

    def clear(self, session: str | None = None) -> None:
        """Forget the deliveries of one session's jobs, pending ones included; None: every delivery."""
        ...

    def close(self) -> None: ...


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
# Added after the first release: a store file written before gets them on open.
_LEASE_COLUMNS = {"lease_owner": "TEXT", "lease_until": "REAL NOT NULL DEFAULT 0"}
_COLUMNS = "id, state, next_at, doc"


def encode_delivery(delivery: Delivery) -> str:
    return json.dumps(delivery.as_dict(), separators=(",", ":"))


def encode_attempt(attempt: Attempt) -> str:
    return json.dumps(asdict(attempt), separators=(",", ":"))


def decode_delivery(row_id: int, state: str, next_at: float, doc: str | bytes | dict[str, Any]) -> Delivery:
    """A delivery from its stored document (decoded already, or JSON) and the fields kept beside it."""
    data = json.loads(doc) if isinstance(doc, str | bytes) else doc
    data.update(id=row_id, state=state, next_at=next_at)
    data["attempts"] = tuple(Attempt(**item) for item in data["attempts"])
    return Delivery(**data)


class SQLiteDeliveries:
    def __init__(self, path: str) -> None:
        self._database = open_database(path)
        self._closed = False
        try:
            with self._database.writing as db:
                db.executescript(_SCHEMA)
                present = {row[1] for row in db.execute("PRAGMA table_info(webhook_deliveries)")}
                for name, declaration in _LEASE_COLUMNS.items():
                    if name not in present:
                        db.execute(f"ALTER TABLE webhook_deliveries ADD COLUMN {name} {declaration}")
        except BaseException:
            self.close()
            raise

    def add(self, draft: Delivery) -> Delivery:
        with self._database.writing as db:
            db.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (job_id, state, next_at, doc) VALUES (?, ?, ?, ?)",
                (draft.job_id, draft.state, draft.next_at, encode_delivery(draft)),
            )
        found = self.for_job(draft.job_id)
        if found is None:  # pragma: no cover - the row was just written
            raise RuntimeError(f"the delivery of job {draft.job_id} was not stored")
        return found

    def claim_due(self, now: float, *, owner: str, lease_s: float, limit: int = 64) -> list[Delivery]:
        with self._database.writing as db:
            rows = db.execute(
                "UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ("
                "SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_at <= ? "
                f"AND lease_until <= ? ORDER BY next_at LIMIT ?) RETURNING {_COLUMNS}",
                (owner, now + lease_s, now, now, limit),
            ).fetchall()
        return sorted((decode_delivery(*row) for row in rows), key=lambda delivery: delivery.next_at)

    def hasten(self, job_id: int, now: float) -> bool:
        with self._database.writing as db:
            cursor = db.execute(
                "UPDATE webhook_deliveries SET next_at = ? "
                "WHERE job_id = ? AND state = 'pending' AND next_at > ? AND lease_until <= ?",
                (now, job_id, now, now),
            )
        return cursor.rowcount > 0

    def release(self, delivery_id: int, owner: str, turn: Turn) -> bool:
        doc = "doc"
        values: list[Any] = []
        if turn.payload is not None:
            doc, values = f"json_set({doc}, '$.payload', json(?))", [*values, json.dumps(turn.payload)]
        if turn.finished_at is not None:
            doc, values = f"json_set({doc}, '$.finished_at', ?)", [*values, turn.finished_at]
        with self._database.transaction() as db:
            if turn.attempt is not None:
                db.execute(
                    "UPDATE webhook_deliveries SET doc = json_insert(doc, '$.attempts[#]', json(?)) "
                    "WHERE id = ?",
                    (encode_attempt(turn.attempt), delivery_id),
                )
            cursor = db.execute(
                f"UPDATE webhook_deliveries SET state = ?, next_at = ?, doc = {doc}, lease_owner = NULL, "
                "lease_until = 0 WHERE id = ? AND lease_owner = ?",
                (turn.state, turn.next_at, *values, delivery_id, owner),
            )
        return cursor.rowcount > 0

    def for_job(self, job_id: int) -> Delivery | None:
        with self._database.reading as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM webhook_deliveries WHERE job_id = ?", (job_id,)
            ).fetchone()
        return None if row is None else decode_delivery(*row)

    def page(self, window: Window, state: DeliveryState | None = None) -> Page[Delivery]:
        sql = f"SELECT {_COLUMNS} FROM webhook_deliveries WHERE id < ?"
        args: list[Any] = [window.below]
        if state is not None:
            sql, args = sql + " AND state = ?", [*args, state]
        with self._database.reading as db:
            rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, window.limit + 1))
            found, more = window.take((row, len(row[3])) for row in rows)
        deliveries = [decode_delivery(*row) for row in reversed(found)]
        return Page(deliveries, found[-1][0] if more and found else None)

    def purge(self, before: float) -> int:
        with self._database.writing as db:
            cursor = db.execute(
                "DELETE FROM webhook_deliveries "
                "WHERE state != 'pending' AND json_extract(doc, '$.created_at') < ?",
                (before,),
            )
        return cursor.rowcount

    def clear(self, session: str | None = None) -> None:
        with self._database.writing as db:
            if session is None:
                db.execute("DELETE FROM webhook_deliveries")
            else:
                db.execute(
                    "DELETE FROM webhook_deliveries WHERE coalesce(json_extract(doc, '$.session'), '') = ?",
                    (session,),
                )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close_database(self._database)
