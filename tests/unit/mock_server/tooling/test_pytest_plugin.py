"""The pytest plugin's session ids: valid ids, one per test, and apart for runs that share one mock."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mock_server.sessions import check_session
from mock_server.tooling.pytest_plugin import run_token, session_for_test

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def test_each_test_gets_a_valid_id_of_its_own() -> None:
    long_id = "tests/" + "deep/" * 40 + "test_x.py::test_y[" + "ü" * 50 + "]"
    ids = {
        session_for_test(nodeid, worker) for nodeid in ("a::b", "a::c", long_id) for worker in ("gw0", "gw1")
    }
    assert len(ids) == 6
    assert all(check_session(found, "plugin") == found for found in ids)


def _ids_of_two_runs(env: dict[str, str], shared: bool) -> list[str]:
    """The id one test gets in each of two separate runs (processes)."""
    code = (
        "from mock_server.tooling.pytest_plugin import run_token, session_for_test; "
        f"print(session_for_test('tests/test_a.py::test_b', run=run_token({shared})))"
    )
    run_names = ("MIXMOCK_RUN", "PYTEST_XDIST_TESTRUNUID", "PYTEST_XDIST_WORKER")  # this run's own, if any
    clean = {k: v for k, v in os.environ.items() if k not in run_names}
    return [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=50,
            env=clean | env,
        ).stdout.strip()
        for _ in range(2)
    ]


def test_two_runs_sharing_one_mock_give_a_test_different_sessions() -> None:
    first, second = _ids_of_two_runs({}, shared=True)
    assert first != second
    assert check_session(first, "plugin") == first


def test_the_workers_of_one_run_share_its_token() -> None:
    first, second = _ids_of_two_runs({"PYTEST_XDIST_TESTRUNUID": "0123456789abcdef"}, shared=True)
    assert first == second == "01234567-main-" + first.rsplit("-", 1)[1]


def test_a_named_run_is_the_same_run_to_run_and_a_bad_name_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = _ids_of_two_runs({"MIXMOCK_RUN": "job-7"}, shared=True)
    assert first == second
    assert first.startswith("job-7-main-")
    monkeypatch.setenv("MIXMOCK_RUN", "job 7")
    with pytest.raises(pytest.UsageError, match="MIXMOCK_RUN='job 7'"):
        run_token(shared=True)


def test_a_run_on_its_own_mock_keeps_its_ids_so_its_draws_repeat() -> None:
    first, second = _ids_of_two_runs({}, shared=False)
    assert first == second == session_for_test("tests/test_a.py::test_b", "main")
