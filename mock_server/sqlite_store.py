"""The embedded job store: one SQLite file (WAL) that several worker processes share, or `:memory:`."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from mock_server.engines.base import ImageJob
from mock_server.jobs import Job

__all__ = ["SQLiteJobStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_prefix TEXT UNIQUE,
    doc TEXT NOT NULL,
    polls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS images (
    file_prefix TEXT NOT NULL,
    idx INTEGER NOT NULL,
    png BLOB NOT NULL,
    PRIMARY KEY (file_prefix, idx)
);
"""


def _encode(job: Job) -> str:
    # Field by field rather than dataclasses.asdict, which deep-copies every value (a third of a request).
    data = {field.name: getattr(job, field.name) for field in fields(job)}
    image_job = job.image_job
    data["image_job"] = {field.name: getattr(image_job, field.name) for field in fields(image_job)}
    return json.dumps(data, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot store {type(value).__name__} in a job")


def _decode(doc: str, polls: int) -> Job:
    data: dict[str, Any] = json.loads(doc)
    data["image_job"] = ImageJob(**data["image_job"])
    data["output"] = tuple(data["output"])
    data["polls"] = polls
    return Job(**data)


class SQLiteJobStore:
    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The connection is shared by the event loop and engine callbacks; the lock serialises them.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
        with self._lock:
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                # No fsync: the store outlives the mock process, not the machine; a mock needs no more.
                self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)

    def reserve_id(self) -> int:
        with self._lock:
            cursor = self._db.execute("INSERT INTO jobs (doc) VALUES ('')")
            job_id = cursor.lastrowid
        if job_id is None:  # pragma: no cover - sqlite always reports the rowid of an INSERT
            raise RuntimeError("the job store did not return an id")
        return job_id

    def create(self, build: Callable[[int], Job]) -> Job:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("INSERT INTO jobs (doc) VALUES ('') RETURNING id").fetchone()
                job = build(int(row[0]))
                self._db.execute(
                    "UPDATE jobs SET file_prefix = ?, doc = ? WHERE id = ?",
                    (job.file_prefix, _encode(job), job.id),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return job

    def save(self, job: Job) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET file_prefix = ?, doc = ? WHERE id = ?",
                (job.file_prefix, _encode(job), job.id),
            )

    def _one(self, where: str, value: Any) -> Job | None:
        with self._lock:
            row = self._db.execute(f"SELECT doc, polls FROM jobs WHERE {where} = ?", (value,)).fetchone()
        if row is None or not row[0]:
            return None
        return _decode(row[0], row[1])

    def get(self, job_id: int) -> Job | None:
        return self._one("id", job_id)

    def by_prefix(self, file_prefix: str) -> Job | None:
        return self._one("file_prefix", file_prefix)

    def record_poll(self, job_id: int) -> Job | None:
        with self._lock:
            row = self._db.execute(
                "UPDATE jobs SET polls = polls + 1 WHERE id = ? AND doc != '' RETURNING doc, polls", (job_id,)
            ).fetchone()
        return None if row is None else _decode(row[0], row[1])

    def put_images(self, file_prefix: str, images: Sequence[bytes]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO images (file_prefix, idx, png) VALUES (?, ?, ?)",
                [(file_prefix, index, png) for index, png in enumerate(images)],
            )

    def get_image(self, file_prefix: str, index: int) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT png FROM images WHERE file_prefix = ? AND idx = ?", (file_prefix, index)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def recent(self, limit: int) -> list[Job]:
        """The newest `limit` jobs, oldest first (for the admin API)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc, polls FROM jobs WHERE doc != '' ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_decode(doc, polls) for doc, polls in reversed(rows)]

    def pending_count(self, key_digest: str, now: float) -> int:
        """Jobs of one key still processing at `now` (the vendor's queue limit counts these)."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM jobs WHERE doc != '' "
                "AND json_extract(doc, '$.extra.key') = ? AND json_extract(doc, '$.state') = 'processing' "
                "AND coalesce(json_extract(doc, '$.ready_at'), ?) > ?",
                (key_digest, now + 1.0, now),
            ).fetchone()
        return int(count)

    def purge(self, before: float) -> int:
        """Delete the jobs created before `before`, and their images; returns how many jobs went."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "DELETE FROM images WHERE file_prefix IN (SELECT file_prefix FROM jobs "
                    "WHERE doc != '' AND json_extract(doc, '$.created_at') < ?)",
                    (before,),
                )
                cursor = self._db.execute(
                    "DELETE FROM jobs WHERE doc != '' AND json_extract(doc, '$.created_at') < ?", (before,)
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return cursor.rowcount

    def count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
