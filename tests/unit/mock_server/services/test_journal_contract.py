"""What every Journal guarantees, on SQLite and on Redis: one order shared by every process, filters,
pages walked back from the newest entry, a bound on each entry and on the whole journal (count and
bytes), reads that never load it all, and a failing store raising StoreError."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from mock_server.services.journal import Journal, JournalEntry, parse_filters
from mock_server.services.redaction import REDACTED, redact
from mock_server.state.jobs import StoreError
from tests.conftest import StateOpener

pytestmark = [pytest.mark.unit, pytest.mark.timeout(120)]


def entry(job_id: int, body: Any = None, **fields: Any) -> JournalEntry:
    values: dict[str, Any] = {
        "at": 1.0,
        "method": "POST",
        "path": "/api/v6/image_editing/img_mixer",
        "operation": "img_mixer",
        "body": body if body is not None else {"key": REDACTED, "steps": job_id},
        "http_status": 200,
        "status": "success",
        "example": "success",
        "why": "default",
        "job_id": job_id,
    }
    values.update(fields)
    return JournalEntry(**values)


@pytest.fixture
def journal(open_state: StateOpener) -> Journal:
    return open_state().journal


def test_entries_keep_their_order_and_filter(journal: Journal) -> None:
    for steps in (40, 41, 42):
        journal.append(entry(steps, body={"key": REDACTED, "steps": steps}))
    assert [e.job_id for e in journal.entries()] == [40, 41, 42]
    assert [e.job_id for e in journal.entries(parse_filters({"body.steps": "41"}))] == [41]
    assert [e.job_id for e in journal.entries(limit=2)] == [41, 42]
    seqs = [e.seq for e in journal.entries()]
    assert seqs == sorted(set(seqs))
    assert len(journal) == 3


def test_a_filtered_limit_keeps_the_newest_matches(journal: Journal) -> None:
    for index in range(30):
        journal.append(entry(index, operation="img_mixer" if index % 3 else "magic_mix_v5"))
    found = journal.entries(parse_filters({"operation": "magic_mix_v5"}), limit=2)
    assert [e.job_id for e in found] == [24, 27]


def test_two_processes_share_one_journal_once_flushed(open_state: StateOpener) -> None:
    first, second = open_state().journal, open_state().journal
    first.append(entry(1))
    second.append(entry(2))
    assert first.pending == 1
    first.flush()
    assert [e.job_id for e in second.entries()] == [1, 2]  # a read flushes its own buffer first
    assert [e.job_id for e in first.entries()] == [1, 2]


def test_clear_forgets_written_and_buffered_entries(journal: Journal) -> None:
    journal.append(entry(1))
    journal.flush()
    journal.append(entry(2))
    journal.clear()
    assert journal.entries() == []
    journal.append(entry(3))
    assert [e.job_id for e in journal.entries()] == [3]


def test_pages_walk_back_with_before(journal: Journal) -> None:
    for job_id in range(1, 601):  # more than one read batch
        journal.append(entry(job_id, operation="img_mixer" if job_id % 3 else "fetch_v6"))
    newest = journal.entries(limit=250)
    assert [e.job_id for e in newest] == list(range(351, 601))
    older = journal.entries(limit=250, before=newest[0].seq)
    assert [e.job_id for e in older] == list(range(101, 351))
    mixer = journal.entries(parse_filters({"operation": "img_mixer"}), limit=3, before=newest[0].seq)
    assert [e.job_id for e in mixer] == [347, 349, 350]
    assert [e.job_id for e in journal.entries(parse_filters({"body.steps": "2"}))] == [2]


def test_a_huge_body_is_journaled_within_its_budget(journal: Journal) -> None:
    images = ["https://img.example/a.png"] * 30_000
    body = {"key": "sk-secret", "prompt": "rose", "steps": 41, "init_image": images}
    journal.append(entry(1, body=redact(body), path="/api/" + "x" * 100_000, why="w" * 100_000))
    (kept,) = journal.entries()
    assert len(json.dumps(kept.as_dict())) < 24_000
    assert kept.body["key"] == REDACTED
    assert (kept.body["prompt"], kept.body["steps"]) == ("rose", 41)
    assert kept.body["init_image"][-1].endswith("more items]")
    assert len(kept.path) < 2100
    assert len(kept.why) < 2100


# Trimming may lag by one write batch (the SQLite journal trims every `trim_every` entries written).
BATCH = 128


def test_the_journal_is_bounded_by_count(open_state: StateOpener) -> None:
    journal = open_state(journal_size=50).journal
    for job_id in range(500):
        journal.append(entry(job_id))
    assert [e.job_id for e in journal.entries()] == list(range(450, 500))
    assert len(journal) <= 50 + BATCH


def test_the_journal_is_bounded_by_bytes(open_state: StateOpener) -> None:
    journal = open_state(journal_bytes=1 << 20).journal
    for job_id in range(400):  # about 10 KB each: 4 MB written, 1 MiB kept (about 100 entries)
        journal.append(entry(job_id, body={"prompt": "p" * 1999, "more": ["q" * 1999] * 4}))
    kept = journal.entries()
    assert 60 <= len(kept) <= 105 + BATCH
    assert [e.job_id for e in kept] == list(range(400 - len(kept), 400))


def test_a_one_entry_page_never_loads_the_whole_journal(journal: Journal) -> None:
    bulky = {"prompt": "p" * 1999, "init_image": ["u" * 1999] * 7}  # about 16 KB, the entry budget
    for job_id in range(2000):  # about 32 MB of journal
        journal.append(entry(job_id, body=redact(bulky)))
    journal.append(entry(2000, operation="fetch_v6"))
    journal.flush()
    tracemalloc.start()
    try:
        (newest,) = journal.entries(limit=1)
        (oldest,) = journal.entries(parse_filters({"job_id": "0"}), limit=1)  # found at the far end
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (newest.job_id, oldest.job_id) == (2000, 0)
    assert peak < 6 * 1024 * 1024, f"reading one entry peaked at {peak / 2**20:.1f} MiB"


def test_a_store_that_cannot_write_raises_store_error(
    journal: Journal, break_writes: Callable[[], None]
) -> None:
    journal.append(entry(1))
    break_writes()
    with pytest.raises(StoreError):
        journal.flush()
    assert journal.pending == 0  # what could not be written is given up, not kept growing in memory


def test_a_session_is_cleared_alone_and_its_size_follows(open_state: StateOpener) -> None:
    journal, other = open_state().journal, open_state().journal
    for index in range(6):
        journal.append(entry(index, session=("", "t1", "t2")[index % 3]))
    journal.flush()
    other.append(entry(9, session="t1"))  # still buffered in another process: that process forgets it
    journal.append(entry(10, session="t1"))  # buffered here: forgotten with the stored ones
    journal.clear("t1")
    other.clear("t1")
    assert [(e.job_id, e.session) for e in journal.entries()] == [(0, ""), (2, "t2"), (3, ""), (5, "t2")]
    assert [e.job_id for e in journal.entries(parse_filters({"session": "t2"}))] == [2, 5]
    journal.clear("")
    assert [e.job_id for e in journal.entries()] == [2, 5]
    for index in range(40):  # the stored size went down with the entries: the byte bound still holds
        journal.append(entry(100 + index, session="t3"))
    journal.flush()
    assert len(journal) == 42
