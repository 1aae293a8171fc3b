"""Run-time scenario defaults: parsing, and the cached read that every request makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mock_server.overrides import Overrides, SQLiteOverrides, parse_overrides
from mock_server.problems import MockFault

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PROCESSING = Overrides("scenario=processing", None)


def test_a_change_through_one_handle_is_read_by_another(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite3")
    writer, reader = SQLiteOverrides(path), SQLiteOverrides(path)
    assert reader.get() == Overrides()
    writer.set(PROCESSING)
    assert reader.get() == PROCESSING
    writer.clear()
    assert reader.get() == Overrides()
    writer.close()
    reader.close()


def test_the_row_is_read_again_only_after_a_signalled_change(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite3")
    overrides = SQLiteOverrides(path)
    assert overrides.get() == Overrides()
    sneaky = sqlite3.connect(path)  # a write that skips the signal is not seen: the read is cached
    sneaky.execute("INSERT INTO overrides (id, doc) VALUES (1, ?)", ('{"prefer": "scenario=failed"}',))
    sneaky.commit()
    sneaky.close()
    assert overrides.get() == Overrides()
    with open(path + "-defaults", "ab") as signal:
        signal.write(b".")
    assert overrides.get() == Overrides("scenario=failed", None)
    overrides.close()


def test_an_in_memory_store_sees_its_own_changes() -> None:
    overrides = SQLiteOverrides(":memory:")
    overrides.set(PROCESSING)
    assert overrides.get() == PROCESSING
    overrides.clear()
    assert overrides.get() == Overrides()


@pytest.mark.parametrize(
    ("body", "wording"),
    [
        pytest.param({"colour": "red"}, "unknown fields", id="unknown-field"),
        pytest.param({"prefer": 3}, "must be a Prefer header value", id="prefer-not-text"),
        pytest.param({"ratios": {"processing": 2}}, "between 0 and 1", id="share-above-one"),
        pytest.param({"ratios": {"slow": 0.5}}, "is not a scenario", id="unknown-scenario"),
    ],
)
def test_bad_overrides_are_refused_naming_the_value(body: dict[str, object], wording: str) -> None:
    with pytest.raises(MockFault, match=wording):
        parse_overrides(body)
