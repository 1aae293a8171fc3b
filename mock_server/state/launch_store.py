"""The per-launch SQLite store in the temp dir: named after its launching process, removed when it stops.

Without `--store`, each launch gets `<tmp>/mixmock/jobs-<pid>-<random>.sqlite3` (ids start at 1). Every
process that opens such a file holds a shared lock on `<file>.lock` while it uses it (a server, each of
its `--workers`). The launching process removes the file and its companions (`-wal`, `-shm`, the defaults
signal, the lock) when it stops, if no other process still holds the lock. A launch that was killed
cannot; the next process to open a launch store sweeps the folder and removes each group whose launching
process is gone and whose lock nobody holds, so a file that a live process still uses is never removed.
The lock is `flock(2)`, released by the kernel when a process dies however it dies. Where there is no
`fcntl` (Windows) nothing is swept; a store is still removed by the launch that stops cleanly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from pathlib import Path

if sys.platform != "win32":
    import fcntl

__all__ = ["LaunchHold", "folder", "hold", "is_launch_store", "new_path", "remove_if_unused", "sweep"]

log = logging.getLogger("mixmock.store")
_NAME = re.compile(r"^(?P<store>jobs-(?P<pid>\d+)-[0-9a-f]{8}\.sqlite3)(?P<suffix>.*)$")
_swept = False
_sweep_guard = threading.Lock()


def folder() -> Path:
    """The folder of launch stores (under the temp dir, which TMPDIR chooses)."""
    return Path(tempfile.gettempdir()) / "mixmock"


def new_path() -> str:
    """A fresh store file name for this launch; nothing is created yet."""
    return str(folder() / f"jobs-{os.getpid()}-{os.urandom(4).hex()}.sqlite3")


def _owner(path: str | Path) -> int | None:
    """The launching process of a launch store, or None when `path` is no launch store."""
    candidate = Path(path)
    if candidate.parent != folder():
        return None
    match = _NAME.match(candidate.name)
    return int(match["pid"]) if match and not match["suffix"] else None


def is_launch_store(path: str) -> bool:
    return _owner(path) is not None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _companions(store: Path) -> list[Path]:
    """The store file and every file named after it (-wal, -shm, -journal, -defaults, .lock)."""
    try:
        return [Path(entry.path) for entry in os.scandir(store.parent) if entry.name.startswith(store.name)]
    except FileNotFoundError:
        return []


class LaunchHold:
    """A process's use of a launch store: a shared lock on `<store>.lock` until `release`."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self._fd: int | None = None
        if sys.platform != "win32":
            store.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(_lock_path(store), os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        """Stop using the store; the launching process then removes it unless another process holds it."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # releases this process's lock
        if _owner(self.store) == os.getpid():
            remove_if_unused(str(self.store))


def _lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


def hold(path: str) -> LaunchHold | None:
    """Take a shared hold on a launch store (None for any other store); sweeps stale ones once a process."""
    if not is_launch_store(path):
        return None
    held = LaunchHold(Path(path))  # first: the sweep must see this store as held
    _sweep_once()
    return held


def _free(store: Path) -> bool:
    """Whether no process holds `store`'s lock (taking it exclusively, for the removal that follows)."""
    if sys.platform == "win32":
        return True
    lock = _lock_path(store)
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return True  # never held (a store from before locks, or one never opened)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # the files go next; a process that opens the store after this starts a new one
    return True


def _remove(store: Path) -> int:
    removed = 0
    for path in _companions(store):
        with contextlib.suppress(FileNotFoundError):
            removed += path.stat().st_size
            path.unlink()
    return removed


def remove_if_unused(path: str) -> bool:
    """Remove a launch store and its companions unless a process holds it; whether it was removed."""
    store = Path(path)
    if not is_launch_store(path) or not _free(store):
        return False
    _remove(store)
    return True


def sweep() -> list[str]:
    """Remove the launch stores of processes that are gone and that no live process holds; their names."""
    if sys.platform == "win32":
        return []
    removed: list[str] = []
    freed = 0
    try:
        entries = list(os.scandir(folder()))
    except FileNotFoundError:
        return []
    stores = {match["store"]: int(match["pid"]) for entry in entries if (match := _NAME.match(entry.name))}
    for name, pid in sorted(stores.items()):
        store = folder() / name
        if not _alive(pid) and _free(store):
            freed += _remove(store)
            removed.append(name)
    if removed:
        log.info("removed %d stale store(s) of stopped launches (%.1f MB)", len(removed), freed / 1e6)
    return removed


def _sweep_once() -> None:
    global _swept
    with _sweep_guard:
        if _swept:
            return
        _swept = True
    try:
        sweep()
    except OSError as error:  # a folder we may not read must not stop a server from starting
        log.warning("could not sweep stale stores in %s: %s", folder(), error)
