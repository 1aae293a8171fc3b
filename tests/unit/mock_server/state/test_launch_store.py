"""The per-launch store: removed by its launch when no process holds it, swept after a crash, never
while a live process uses it, and never a store the user named."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mock_server.settings import Settings
from mock_server.state import launch_store
from mock_server.state.backends import open_backend

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own temp dir, so the machine's launch stores are never touched."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / "mixmock"


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def make_store(pid: int, *suffixes: str) -> Path:
    """A launch store file of `pid` with companions, as a launch that was killed leaves them."""
    folder = launch_store.folder()
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / f"jobs-{pid}-0123abcd.sqlite3"
    for suffix in ("", *suffixes):
        store.with_name(store.name + suffix).write_bytes(b"x" * 1000)
    return store


def files(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


Holder = Callable[[Path], subprocess.Popen[str]]


@pytest.fixture
def holder() -> Iterator[Holder]:
    """Another live process, which holds a launch store until its stdin closes."""
    children: list[subprocess.Popen[str]] = []

    def start(store: Path) -> subprocess.Popen[str]:
        code = (
            "import sys, tempfile; tempfile.tempdir = sys.argv[2]\n"
            "from mock_server.state import launch_store\n"
            "held = launch_store.hold(sys.argv[1]); print('held', flush=True); sys.stdin.read()"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code, str(store), str(store.parent.parent)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        children.append(child)
        return child

    yield start
    for child in children:
        child.communicate(timeout=30)  # closes its stdin (it lets go) and reads its stdout to the end


def test_the_default_store_is_a_launch_store_of_this_process() -> None:
    path = Settings().store
    assert launch_store.is_launch_store(path)
    assert Path(path).parent == launch_store.folder()
    assert not launch_store.is_launch_store(path + "-wal")
    assert not launch_store.is_launch_store("jobs.sqlite3")


def test_a_launch_removes_its_store_when_it_stops(temp_dir: Path) -> None:
    backend = open_backend(Settings(access_log=False))
    backend.jobs.reserve_id()
    backend.defaults.clear()  # writes the defaults signal file beside the store
    assert len(files(temp_dir)) >= 3
    backend.close()
    assert files(temp_dir) == set()


def test_a_store_another_view_still_holds_stays_until_the_last_one_closes(temp_dir: Path) -> None:
    settings = Settings(access_log=False)
    first, second = open_backend(settings), open_backend(settings)
    first.close()
    assert Path(settings.store).exists()
    second.close()
    assert files(temp_dir) == set()


def test_a_named_store_is_never_removed(tmp_path: Path) -> None:
    store = tmp_path / "jobs.sqlite3"
    open_backend(Settings(store=str(store), access_log=False)).close()
    assert store.exists()
    assert not launch_store.remove_if_unused(str(store))


def test_the_sweep_removes_the_stores_of_launches_that_are_gone(temp_dir: Path) -> None:
    gone = make_store(dead_pid(), "-wal", "-shm", "-defaults", ".lock")
    lock_only = make_store(dead_pid(), ".lock")
    assert launch_store.sweep() == sorted([gone.name, lock_only.name])
    assert files(temp_dir) == set()


def test_the_sweep_keeps_stores_of_live_processes_and_other_files(temp_dir: Path, holder: Holder) -> None:
    live_owner = make_store(os.getpid(), "-wal")
    used = make_store(dead_pid(), "-wal")  # its launch is gone, but a live process holds it
    holder(used)
    other = temp_dir / "notes.txt"
    other.write_text("mine")
    assert launch_store.sweep() == []
    assert {live_owner.name, used.name, other.name} <= files(temp_dir)


def test_a_stopping_launch_leaves_a_store_another_process_still_holds(temp_dir: Path, holder: Holder) -> None:
    backend = open_backend(Settings(access_log=False))
    store = backend.launch.store if backend.launch is not None else None
    assert store is not None
    holder(store)
    backend.close()
    assert store.exists()  # the next launch's sweep takes it once the holder is gone


def test_opening_a_launch_store_sweeps_once(temp_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch_store, "_swept", False)
    gone = make_store(dead_pid(), "-wal")
    backend = open_backend(Settings(access_log=False))
    assert not gone.exists()
    backend.close()
