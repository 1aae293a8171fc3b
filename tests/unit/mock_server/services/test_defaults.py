"""Run-time scenario defaults: parsing, and the cached read that every request makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mock_server.services.defaults import Defaults, DefaultsError, SQLiteDefaults, parse_defaults
from mock_server.state.signal import WRAP_BYTES

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PROCESSING = Defaults("scenario=processing", None)


def test_a_change_through_one_handle_is_read_by_another(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite3")
    writer, reader = SQLiteDefaults(path), SQLiteDefaults(path)
    assert reader.get() == Defaults()
    writer.set(PROCESSING)
    assert reader.get() == PROCESSING
    writer.clear()
    assert reader.get() == Defaults()
    writer.close()
    reader.close()


def test_the_row_is_read_again_only_after_a_signalled_change(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite3")
    defaults = SQLiteDefaults(path)
    assert defaults.get() == Defaults()
    sneaky = sqlite3.connect(path)  # a write that skips the signal is not seen: the read is cached
    sneaky.execute(
        "INSERT INTO scenario_defaults (id, doc) VALUES (1, ?)", ('{"prefer": "scenario=failed"}',)
    )
    sneaky.commit()
    sneaky.close()
    assert defaults.get() == Defaults()
    with open(path + "-defaults", "ab") as signal:
        signal.write(b".")
    assert defaults.get() == Defaults("scenario=failed", None)
    defaults.close()


def test_the_signal_file_stays_small_however_many_sessions_reset(tmp_path: Path) -> None:
    """Every test of the pytest plugin resets its session, which clears its defaults: a byte each."""
    path = str(tmp_path / "jobs.sqlite3")
    writer, reader = SQLiteDefaults(path), SQLiteDefaults(path)
    for index in range(2 * WRAP_BYTES):
        writer.clear(f"t{index}")
    writer.set(PROCESSING, "t1")
    assert reader.get("t1") == PROCESSING  # changes are still seen across the wrap
    assert (tmp_path / "jobs.sqlite3-defaults").stat().st_size <= WRAP_BYTES
    writer.close()
    reader.close()


def test_an_in_memory_store_sees_its_own_changes() -> None:
    defaults = SQLiteDefaults(":memory:")
    defaults.set(PROCESSING)
    assert defaults.get() == PROCESSING
    defaults.clear()
    assert defaults.get() == Defaults()


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
    with pytest.raises(DefaultsError, match=wording):
        parse_defaults(body)
