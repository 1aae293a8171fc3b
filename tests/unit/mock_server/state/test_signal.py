"""The change signal beside a SQLite store: every touch changes the version, and the file stays small."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.state.signal import WRAP_BYTES, SignalFile

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def test_every_touch_changes_the_version_and_the_file_stays_small(tmp_path: Path) -> None:
    signal = SignalFile(str(tmp_path / "jobs.sqlite3-rules"))
    seen = {signal.version()}
    for _ in range(3 * WRAP_BYTES):
        signal.touch()
        version = signal.version()
        assert version not in seen or version == (0, 0, 0)
        seen = {version}  # a reader compares with the version it last read
    assert (tmp_path / "jobs.sqlite3-rules").stat().st_size <= WRAP_BYTES
    assert sorted(path.name for path in tmp_path.iterdir()) == ["jobs.sqlite3-rules"]


def test_a_store_of_one_process_has_no_signal() -> None:
    signal = SignalFile(None)
    signal.touch()
    assert signal.version() == (0, 0, 0)
