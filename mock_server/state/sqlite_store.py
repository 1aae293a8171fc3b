"""The embedded job store: one SQLite file (WAL) that several worker processes share, or `:memory:`.

Ids come in blocks: a process takes `ID_BLOCK` ids at a time from the `id_blocks` table (one atomic
statement), so creating a job needs no read of the table, and no two processes ever hand out the same
id. Ids rise within a process; across processes they interleave by block, and a restarted process starts
a new block (the unused rest of the old one is skipped, never reused).

Group commit: `create_grouped` queues the job's row and writes every row queued in the same turn of the
event loop in one transaction, before any of those requests goes on to its reply. Under concurrent load
that is one commit for several jobs; no job is ever answered before it is in the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from mock_server.state.database import close_database, open_database
from mock_server.state.jobs import Job, StoreUnavailableError, decode_job, encode_job

__all__ = ["ID_BLOCK", "SQLiteJobStore"]

ID_BLOCK = 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    file_prefix TEXT UNIQUE,
    doc TEXT NOT NULL,
    polls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS id_blocks (
    name TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    file_prefix TEXT NOT NULL,
    idx INTEGER NOT NULL,
    png BLOB NOT NULL,
    PRIMARY KEY (file_prefix, idx)
);
"""


# The next id block starts after every id already used (a store file written before blocks existed).
_FIRST_BLOCK = (
    "INSERT OR IGNORE INTO id_blocks (name, next) SELECT 'jobs', coalesce(max(id), 0) + 1 FROM jobs"
)


_INSERT = "INSERT INTO jobs (id, file_prefix, doc) VALUES (?, ?, ?)"


class SQLiteJobStore:
    def __init__(self, path: str, id_block: int = ID_BLOCK) -> None:
        if id_block < 1:
            raise ValueError(f"id_block must be at least 1, got {id_block!r}")
        self.path = path
        self._id_block = id_block
        self._next_id = self._block_end = 0  # the ids this process may still hand out: [next, end)
        self._queued: list[tuple[int, str, str]] = []  # rows of `create_grouped` not yet written
        self._written: asyncio.Future[None] | None = None  # resolved when they are
        # The connection is shared by the event loop, engine callbacks and the file's other tables.
        self._database = open_database(path)
        self._db, self._lock = self._database.connection, self._database.lock
        self._closed = False
        with self._lock:
            self._db.executescript(_SCHEMA)
            self._db.execute(_FIRST_BLOCK)

    def _peek_id(self) -> int:
        """The next id of this process's block, taking a new block when it is used up (lock held)."""
        if self._next_id >= self._block_end:
            (end,) = self._db.execute(
                "UPDATE id_blocks SET next = next + ? WHERE name = 'jobs' RETURNING next", (self._id_block,)
            ).fetchone()
            self._next_id, self._block_end = int(end) - self._id_block, int(end)
        return self._next_id

    def reserve_id(self) -> int:
        with self._lock:
            job_id = self._peek_id()
            self._db.execute("INSERT INTO jobs (id, doc) VALUES (?, '')", (job_id,))
            self._next_id += 1
        return job_id

    def _build(self, build: Callable[[int], Job]) -> tuple[Job, tuple[int, str, str]]:
        """The job for the next id and its row; a failing build consumes no id (lock held)."""
        job_id = self._peek_id()
        job = build(job_id)
        if job.id != job_id:
            raise ValueError(f"the job built for id {job_id} has id {job.id!r}")
        row = (job_id, job.file_prefix, encode_job(job))
        self._next_id += 1
        return job, row

    def create(self, build: Callable[[int], Job]) -> Job:
        """One autocommit INSERT: the job is in the file when this returns."""
        with self._lock:
            job, row = self._build(build)
            self._db.execute(_INSERT, row)
        return job

    async def create_grouped(self, build: Callable[[int], Job]) -> Job:
        """Like `create`, but committed with the other jobs created in the same event-loop turn."""
        loop = asyncio.get_running_loop()
        with self._lock:
            job, row = self._build(build)
            self._queued.append(row)
            if self._written is None:
                self._written = loop.create_future()
                loop.call_soon(self._write_queued)
            written = self._written
        await written
        return job

    def _write_queued(self) -> None:
        with self._lock:
            rows, written = self._queued, self._written
            self._queued, self._written = [], None
            try:
                if len(rows) == 1:
                    self._db.execute(_INSERT, rows[0])
                else:
                    self._write_many(rows)
            except Exception as error:  # every request of the group answers that its job was not saved
                if written is not None:
                    written.set_exception(error)
                return
        if written is not None:
            written.set_result(None)

    def _write_many(self, rows: list[tuple[int, str, str]]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(_INSERT, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def save(self, job: Job) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET file_prefix = ?, doc = ? WHERE id = ?",
                (job.file_prefix, encode_job(job), job.id),
            )

    def _one(self, where: str, value: Any) -> Job | None:
        with self._lock:
            row = self._db.execute(f"SELECT doc, polls FROM jobs WHERE {where} = ?", (value,)).fetchone()
        if row is None or not row[0]:
            return None
        return decode_job(row[0], row[1])

    def get(self, job_id: int) -> Job | None:
        return self._one("id", job_id)

    def by_prefix(self, file_prefix: str) -> Job | None:
        return self._one("file_prefix", file_prefix)

    def record_poll(self, job_id: int) -> Job | None:
        with self._lock:
            row = self._db.execute(
                "UPDATE jobs SET polls = polls + 1 WHERE id = ? AND doc != '' RETURNING doc, polls", (job_id,)
            ).fetchone()
        return None if row is None else decode_job(row[0], row[1])

    async def aget(self, job_id: int) -> Job | None:
        return self.get(job_id)

    async def arecord_poll(self, job_id: int) -> Job | None:
        return self.record_poll(job_id)

    async def asave(self, job: Job) -> None:
        self.save(job)

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
        return [decode_job(doc, polls) for doc, polls in reversed(rows)]

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

    def ping(self) -> None:
        try:
            with self._lock:
                self._db.execute("SELECT 1 FROM jobs LIMIT 1").fetchall()
        except sqlite3.Error as error:
            raise StoreUnavailableError(self.path, f"{type(error).__name__}: {error}") from None

    async def aclose(self) -> None:
        return None  # nothing of this store belongs to an event loop

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close_database(self._database)
