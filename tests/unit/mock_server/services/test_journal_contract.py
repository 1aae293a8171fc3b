"""What every Journal guarantees (each backend): pages walked back from the newest entry, a bound on
each entry and on the whole journal (count and bytes), and reads that never load it all."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.services.journal import Journal, JournalEntry, parse_filters
from mock_server.services.redaction import REDACTED, redact
from mock_server.state.jobs import StoreError
from tests.unit.mock_server.backends import Backend

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
def journal(backend: Backend, location: str) -> Iterator[Journal]:
    opened = backend.journal(location)
    yield opened
    opened.close()


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


def test_the_journal_is_bounded_by_count(backend: Backend, location: str) -> None:
    journal = backend.journal(location, max_entries=50, trim_every=10)
    for job_id in range(500):
        journal.append(entry(job_id))
    assert [e.job_id for e in journal.entries()] == list(range(450, 500))
    assert len(journal) <= 60
    journal.close()


def test_the_journal_is_bounded_by_bytes(backend: Backend, location: str) -> None:
    journal = backend.journal(location, max_bytes=200_000, trim_every=10)
    for job_id in range(200):  # about 10 KB each: 2 MB written, 200 KB kept
        journal.append(entry(job_id, body={"prompt": "p" * 1999, "more": ["q" * 1999] * 4}))
    kept = journal.entries()
    assert 10 <= len(kept) <= 25
    assert kept[-1].job_id == 199
    journal.close()


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


def test_a_store_that_cannot_write_raises_store_error(backend: Backend, location: str) -> None:
    journal = backend.journal(location, flush_every=1_000)
    journal.append(entry(1))
    backend.break_writes(location)
    with pytest.raises(StoreError):
        journal.flush()
    assert journal.pending == 0  # what could not be written is given up, not kept growing in memory
