"""The embedded job store: one SQLite file (WAL) that several worker processes share, or `:memory:`.

Ids come in blocks: a process takes `ID_BLOCK` ids at a time from the `id_blocks` table (one atomic
statement), so creating a job needs no read of the table, and no two processes ever hand out the same
id. Ids rise within a process; across processes they interleave by block, and a restarted process starts
a new block (the unused rest of the old one is skipped, never reused).

Group commit: `create_grouped` queues the job's row and writes every row queued in the same turn of the
event loop in one transaction, before any of those requests goes on to its reply. Under concurrent load
that is one commit for several jobs; no job is ever answered before it is in the file.

Engine work (jobs an eager engine still has to render) has a row of its own in `engine_work`, written
with the job and deleted with the write that finishes it; its lease (owner, until) is what keeps two
processes from rendering one job, and what lets a restart resume the jobs of a process that died.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from mock_server.state.database import close_database, open_database
from mock_server.state.jobs import MAX_JOB_ID, Job, Page, Window, decode_job, encode_job

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
CREATE TABLE IF NOT EXISTS engine_work (
    job_id INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    owner TEXT,
    lease_until REAL
);
CREATE TABLE IF NOT EXISTS store_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB NOT NULL
);
"""


# The next id block starts after every id already used (a store file written before blocks existed).
_FIRST_BLOCK = (
    "INSERT OR IGNORE INTO id_blocks (name, next) SELECT 'jobs', coalesce(max(id), 0) + 1 FROM jobs"
)

_INSERT = "INSERT INTO jobs (id, file_prefix, doc) VALUES (?, ?, ?)"
_INSERT_WORK = "INSERT OR REPLACE INTO engine_work (job_id, created_at) VALUES (?, ?)"
Row = tuple[int, str, str]
WorkRow = tuple[int, float]


class SQLiteJobStore:
    def __init__(self, path: str, id_block: int = ID_BLOCK) -> None:
        if id_block < 1:
            raise ValueError(f"id_block must be at least 1, got {id_block!r}")
        self.path = path
        self._id_block = id_block
        self._next_id = self._block_end = 0  # the ids this process may still hand out: [next, end)
        self._queued: list[tuple[Row, WorkRow | None]] = []  # rows of `create_grouped` not yet written
        self._written: asyncio.Future[None] | None = None  # resolved when they are
        # The connection is shared by the event loop, engine callbacks and the file's other tables.
        self._database = open_database(path)
        self._closed = False
        try:
            with self._database.writing as db:
                db.executescript(_SCHEMA)
                db.execute(_FIRST_BLOCK)
                db.execute("INSERT OR IGNORE INTO store_secret (id, secret) VALUES (1, ?)", (os.urandom(32),))
                (secret,) = db.execute("SELECT secret FROM store_secret WHERE id = 1").fetchone()
        except BaseException:
            self.close()
            raise
        self._secret = bytes(secret)

    def _peek_id(self, db: sqlite3.Connection) -> int:
        """The next id of this process's block, taking a new block when it is used up (lock held)."""
        if self._next_id >= self._block_end:
            (end,) = db.execute(
                "UPDATE id_blocks SET next = next + ? WHERE name = 'jobs' RETURNING next", (self._id_block,)
            ).fetchone()
            self._next_id, self._block_end = int(end) - self._id_block, int(end)
        return self._next_id

    def reserve_id(self) -> int:
        with self._database.writing as db:
            job_id = self._peek_id(db)
            db.execute("INSERT INTO jobs (id, doc) VALUES (?, '')", (job_id,))
            self._next_id += 1
        return job_id

    def _build(self, db: sqlite3.Connection, build: Callable[[int], Job]) -> tuple[Job, Row, WorkRow | None]:
        """The job for the next id and its rows; a failing build consumes no id (lock held)."""
        job_id = self._peek_id(db)
        job = build(job_id)
        if job.id != job_id:
            raise ValueError(f"the job built for id {job_id} has id {job.id!r}")
        row = (job_id, job.file_prefix, encode_job(job))
        work = (job_id, job.created_at) if job.engine_work else None
        self._next_id += 1
        return job, row, work

    def create(self, build: Callable[[int], Job]) -> Job:
        """One autocommit INSERT (two in a transaction for engine work): the job is in the file on return."""
        with self._database.writing as db:
            job, row, work = self._build(db, build)
        self._write([(row, work)])
        return job

    async def create_grouped(self, build: Callable[[int], Job]) -> Job:
        """Like `create`, but committed with the other jobs created in the same event-loop turn."""
        loop = asyncio.get_running_loop()
        with self._database.writing as db:
            job, row, work = self._build(db, build)
            self._queued.append((row, work))
            if self._written is None:
                self._written = loop.create_future()
                loop.call_soon(self._write_queued)
            written = self._written
        await written
        return job

    def _write_queued(self) -> None:
        with self._database.lock:
            queued, written = self._queued, self._written
            self._queued, self._written = [], None
        try:
            self._write(queued)
        except Exception as error:  # every request of the group answers that its job was not saved
            if written is not None:
                written.set_exception(error)
            return
        if written is not None:
            written.set_result(None)

    def _write(self, queued: Sequence[tuple[Row, WorkRow | None]]) -> None:
        work = [item for _, item in queued if item is not None]
        if len(queued) == 1 and not work:
            with self._database.writing as db:
                db.execute(_INSERT, queued[0][0])
            return
        with self._database.transaction() as db:
            db.executemany(_INSERT, [row for row, _ in queued])
            db.executemany(_INSERT_WORK, work)

    def save(self, job: Job) -> None:
        update = "UPDATE jobs SET file_prefix = ?, doc = ? WHERE id = ?"
        values = (job.file_prefix, encode_job(job), job.id)
        if not job.eager:
            with self._database.writing as db:
                db.execute(update, values)
            return
        with self._database.transaction() as db:
            db.execute(update, values)
            if not job.engine_work:
                db.execute("DELETE FROM engine_work WHERE job_id = ?", (job.id,))

    def _one(self, where: str, value: Any) -> Job | None:
        with self._database.reading as db:
            row = db.execute(f"SELECT doc, polls FROM jobs WHERE {where} = ?", (value,)).fetchone()
        if row is None or not row[0]:
            return None
        return decode_job(row[0], row[1])

    def get(self, job_id: int) -> Job | None:
        return self._one("id", job_id) if 0 <= job_id <= MAX_JOB_ID else None

    def by_prefix(self, file_prefix: str) -> Job | None:
        return self._one("file_prefix", file_prefix)

    def record_poll(self, job_id: int) -> Job | None:
        with self._database.writing as db:
            row = db.execute(
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
        with self._database.writing as db:
            db.executemany(
                "INSERT OR REPLACE INTO images (file_prefix, idx, png) VALUES (?, ?, ?)",
                [(file_prefix, index, png) for index, png in enumerate(images)],
            )

    def get_image(self, file_prefix: str, index: int) -> bytes | None:
        with self._database.reading as db:
            row = db.execute(
                "SELECT png FROM images WHERE file_prefix = ? AND idx = ?", (file_prefix, index)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def page(self, window: Window) -> Page[Job]:
        """The newest jobs below `window.before`, read one row at a time until the window is full."""
        with self._database.reading as db:
            rows = db.execute(
                "SELECT id, doc, polls FROM jobs WHERE doc != '' AND id < ? ORDER BY id DESC LIMIT ?",
                (window.below, window.limit + 1),
            )
            found, more = window.take((row, len(row[1])) for row in rows)
        jobs = [decode_job(doc, polls) for _, doc, polls in reversed(found)]
        return Page(jobs, found[-1][0] if more and found else None)

    def pending_count(self, key_digest: str, now: float) -> int:
        """Jobs of one key still processing at `now` (the vendor's queue limit counts these)."""
        with self._database.reading as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM jobs WHERE doc != '' "
                "AND json_extract(doc, '$.extra.key') = ? AND json_extract(doc, '$.state') = 'processing' "
                "AND coalesce(json_extract(doc, '$.ready_at'), ?) > ?",
                (key_digest, now + 1.0, now),
            ).fetchone()
        return int(count)

    def claim_engine_job(self, job_id: int, owner: str, now: float, lease_s: float) -> bool:
        with self._database.writing as db:
            row = db.execute(
                "UPDATE engine_work SET owner = ?, lease_until = ? "
                "WHERE job_id = ? AND (owner IS NULL OR owner = ? OR lease_until <= ?) RETURNING job_id",
                (owner, now + lease_s, job_id, owner, now),
            ).fetchone()
        return row is not None

    def unfinished_engine_jobs(self, now: float, lease_s: float, limit: int = 64) -> list[Job]:
        with self._database.reading as db:
            rows = db.execute(
                "SELECT jobs.doc, jobs.polls FROM engine_work JOIN jobs ON jobs.id = engine_work.job_id "
                "WHERE jobs.doc != '' AND coalesce(engine_work.lease_until, engine_work.created_at + ?) <= ? "
                "ORDER BY engine_work.job_id LIMIT ?",
                (lease_s, now, limit),
            ).fetchall()
        return [decode_job(doc, polls) for doc, polls in rows]

    def release_engine_job(self, job_id: int, owner: str) -> None:
        with self._database.writing as db:
            db.execute(
                "UPDATE engine_work SET owner = NULL, lease_until = 0 WHERE job_id = ? AND owner = ?",
                (job_id, owner),
            )

    def secret(self) -> bytes:
        return self._secret

    def health(self) -> str | None:
        return self._database.health()

    def purge(self, before: float) -> int:
        """Delete the jobs created before `before`, their images and engine work; returns how many jobs."""
        old = "SELECT {} FROM jobs WHERE doc != '' AND json_extract(doc, '$.created_at') < ?"
        with self._database.transaction() as db:
            db.execute(f"DELETE FROM images WHERE file_prefix IN ({old.format('file_prefix')})", (before,))
            db.execute(f"DELETE FROM engine_work WHERE job_id IN ({old.format('id')})", (before,))
            cursor = db.execute(
                "DELETE FROM jobs WHERE doc != '' AND json_extract(doc, '$.created_at') < ?", (before,)
            )
        return cursor.rowcount

    def count(self) -> int:
        with self._database.reading as db:
            (count,) = db.execute("SELECT COUNT(*) FROM jobs").fetchone()
        return int(count)

    async def aclose(self) -> None:
        return None  # nothing of this store belongs to an event loop

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close_database(self._database)
