"""The request journal: redaction, filters, bounds, and one journal shared through a file."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from mock_server.services.journal import JournalEntry, SQLiteJournal, matches, parse_filters
from mock_server.services.redaction import REDACTED, redact
from tests.cases import case_table

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def entry(body: Any = None, **fields: Any) -> JournalEntry:
    values: dict[str, Any] = {
        "at": 1.0,
        "method": "POST",
        "path": "/api/v6/image_editing/img_mixer",
        "operation": "img_mixer",
        "body": body if body is not None else {"key": REDACTED, "prompt": "rose man", "steps": 41},
        "http_status": 200,
        "status": "success",
        "example": "success",
        "why": "default",
    }
    values.update(fields)
    return JournalEntry(**values)


def test_redact_hides_the_key_and_cuts_long_text() -> None:
    body = {"key": "secret", "prompt": "p" * 5000, "init_image": ["u" * 3000], "nested": {"key": "kept"}}
    redacted = redact(body)
    assert redacted["key"] == REDACTED
    assert redacted["prompt"].startswith("p" * 2000)
    assert redacted["prompt"].endswith("...[3000 more characters]")
    assert redacted["init_image"][0].endswith("[1000 more characters]")
    assert redacted["nested"] == {"key": "kept"}  # only the body's own key is a credential
    assert "secret" not in str(redacted)
    assert body["key"] == "secret"  # the caller's body is untouched


@pytest.mark.parametrize("body", [None, [1, 2], "text"], ids=["none", "array", "string"])
def test_redact_accepts_bodies_that_are_not_objects(body: Any) -> None:
    assert redact(body) == body


@pytest.mark.parametrize(
    ("query", "expected"),
    case_table(Path(__file__).with_name("journal_filters.yaml"), query=str, matches=bool),
)
def test_filters(query: str, expected: bool) -> None:
    body = {"prompt": "rose man", "steps": 41, "init_image": ["https://a", "https://b"]}
    body |= {"track_id": 42, "flag": True}
    assert matches(entry(body), parse_filters(parse_qsl(query, strict_parsing=True))) is expected


@pytest.mark.parametrize(
    "name", ["colour", "status.deep", "bodysteps"], ids=["unknown", "dotted-field", "no-dot"]
)
def test_unknown_filter_names_are_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=f"cannot filter on {name!r}"):
        parse_filters({name: "x"})


def test_journal_keeps_order_filters_and_clears() -> None:
    journal = SQLiteJournal(":memory:")
    journal.append(entry(operation="img_mixer"))
    journal.append(entry(operation="fetch_v6", body={"key": REDACTED}))
    journal.append(entry(operation="img_mixer", body={"steps": 10}))
    assert [e.seq for e in journal.entries()] == [1, 2, 3]
    assert [e.seq for e in journal.entries(parse_filters({"operation": "img_mixer"}))] == [1, 3]
    assert [e.seq for e in journal.entries(parse_filters({"body.steps": "10"}))] == [3]
    assert [e.seq for e in journal.entries(limit=1)] == [3]
    assert journal.entries()[0] == entry(operation="img_mixer", seq=1)
    journal.clear()
    assert len(journal) == 0


def test_journal_stays_bounded() -> None:
    journal = SQLiteJournal(":memory:", max_entries=50, trim_every=10)
    for index in range(500):
        journal.append(entry(job_id=index))
    assert len(journal) <= 60
    kept = journal.entries()
    assert len(kept) == 50
    assert kept[-1].job_id == 499


def _sizes(path: Path) -> tuple[int, int]:
    """(the kept byte total, the sum of the rows' sizes) in a journal file."""
    with sqlite3.connect(path) as db:
        (total,) = db.execute("SELECT bytes FROM journal_total").fetchone()
        (summed,) = db.execute("SELECT coalesce(SUM(size), 0) FROM journal").fetchone()
    return total, summed


def test_the_byte_total_follows_writes_trims_and_clears(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    journal = SQLiteJournal(str(path), max_entries=30, trim_every=7, max_bytes=4000)
    for index in range(200):
        journal.append(entry(job_id=index, body={"prompt": "x" * (index % 50)}))
    journal.flush()
    total, summed = _sizes(path)
    assert total == summed
    assert 0 < total <= 4000 + 1000  # trimming runs every 7 entries: at most that many over the bound
    journal.clear()
    assert _sizes(path) == (0, 0)
    journal.close()


def test_a_journal_file_written_before_the_byte_total_gets_it_on_open(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    journal = SQLiteJournal(str(path))
    for index in range(5):
        journal.append(entry(job_id=index))
    journal.close()
    with sqlite3.connect(path) as db:  # as an older release left it
        db.executescript(
            "DROP TRIGGER journal_added; DROP TRIGGER journal_removed; DROP TABLE journal_total;"
        )
    SQLiteJournal(str(path)).close()
    total, summed = _sizes(path)
    assert total == summed > 0


def test_two_journals_on_one_file_see_each_other_once_flushed(tmp_path: Path) -> None:
    path = str(tmp_path / "store.sqlite3")
    first, second = SQLiteJournal(path), SQLiteJournal(path)
    first.append(entry(job_id=1))
    second.append(entry(job_id=2))
    assert [e.job_id for e in first.entries()] == [1]  # the second's entry is still buffered
    assert second.flush() == 1
    assert [e.job_id for e in first.entries()] == [1, 2]
    first.close()
    second.close()


def test_appends_are_buffered_until_a_read_or_a_full_batch(tmp_path: Path) -> None:
    path = str(tmp_path / "store.sqlite3")
    writer, reader = SQLiteJournal(path, flush_every=3), SQLiteJournal(path)
    writer.append(entry(job_id=1))
    writer.append(entry(job_id=2))
    assert (writer.pending, len(reader)) == (2, 0)
    writer.append(entry(job_id=3))  # the third fills the batch: written at once
    assert (writer.pending, [e.job_id for e in reader.entries()]) == (0, [1, 2, 3])
    writer.append(entry(job_id=4))
    assert [e.job_id for e in writer.entries()] == [1, 2, 3, 4]  # a read flushes its own buffer first
    writer.close()
    reader.close()


def test_closing_writes_the_buffer(tmp_path: Path) -> None:
    path = str(tmp_path / "store.sqlite3")
    writer = SQLiteJournal(path)
    writer.append(entry(job_id=9))
    writer.close()
    reader = SQLiteJournal(path)
    assert [e.job_id for e in reader.entries()] == [9]
    reader.close()


def test_clear_forgets_buffered_entries_too() -> None:
    journal = SQLiteJournal(":memory:")
    journal.append(entry())
    journal.clear()
    assert (journal.pending, journal.entries()) == (0, [])


def test_as_dict_has_every_field_in_order() -> None:
    assert list(entry().as_dict()) == [field.name for field in dataclasses.fields(JournalEntry)]


@pytest.mark.parametrize("name", ["max_entries", "trim_every", "flush_every"])
def test_bounds_must_be_positive(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be at least 1, got 0"):
        SQLiteJournal(":memory:", **{name: 0})
