"""The request journal contract on every store backend: order, filters, bounds, shared by processes."""

from __future__ import annotations

import pytest

from mock_server.services.journal import parse_filters
from tests.conftest import StateOpener
from tests.unit.mock_server.services.test_journal import entry

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def test_entries_keep_their_order_and_filter(open_state: StateOpener) -> None:
    journal = open_state().journal
    for steps in (40, 41, 42):
        journal.append(entry(body={"key": "[redacted]", "steps": steps}, job_id=steps))
    assert [e.job_id for e in journal.entries()] == [40, 41, 42]
    assert [e.job_id for e in journal.entries(parse_filters({"body.steps": "41"}))] == [41]
    assert [e.job_id for e in journal.entries(limit=2)] == [41, 42]
    seqs = [e.seq for e in journal.entries()]
    assert seqs == sorted(set(seqs))
    assert len(journal) == 3


def test_a_filtered_limit_keeps_the_newest_matches(open_state: StateOpener) -> None:
    journal = open_state().journal
    for index in range(30):
        journal.append(entry(operation="img_mixer" if index % 3 else "magic_mix_v5", job_id=index))
    found = journal.entries(parse_filters({"operation": "magic_mix_v5"}), limit=2)
    assert [e.job_id for e in found] == [24, 27]


def test_the_journal_stays_bounded(open_state: StateOpener) -> None:
    journal = open_state(journal_size=5).journal
    for index in range(300):
        journal.append(entry(job_id=index))
    kept = journal.entries()
    assert [e.job_id for e in kept] == list(range(295, 300))
    assert len(journal) <= 5 + 128  # trimmed as it is written: at most a write batch beyond the bound


def test_two_processes_share_one_journal_once_flushed(open_state: StateOpener) -> None:
    first, second = open_state().journal, open_state().journal
    first.append(entry(job_id=1))
    second.append(entry(job_id=2))
    assert first.pending == 1
    first.flush()
    assert [e.job_id for e in second.entries()] == [1, 2]  # a read flushes its own buffer first
    assert [e.job_id for e in first.entries()] == [1, 2]


def test_clear_forgets_written_and_buffered_entries(open_state: StateOpener) -> None:
    journal = open_state().journal
    journal.append(entry(job_id=1))
    journal.flush()
    journal.append(entry(job_id=2))
    journal.clear()
    assert journal.entries() == []
    journal.append(entry(job_id=3))
    assert [e.job_id for e in journal.entries()] == [3]
