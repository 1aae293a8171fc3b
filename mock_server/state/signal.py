"""A change signal beside a SQLite store file: one stat() tells a reader whether to read a row again.

A writer commits its change, then `touch()`es the signal (appends a byte). A reader takes `version()`
before it reads the row and reads again only when the version differs from the one it read with, so a
change made through any process is seen by the next read in every process, at the cost of a stat().

The file stays small: past `WRAP_BYTES` a writer replaces it with an empty one (a new inode, which the
version includes). A byte appended to the replaced file by a writer that opened it just before is lost,
but that writer had committed before the replacement, so any reader that sees the new file reads its
change.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["WRAP_BYTES", "SignalFile"]

WRAP_BYTES = 4096


class SignalFile:
    """`<store><suffix>` (None path: a store of one process, `:memory:`, which needs no signal)."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def version(self) -> tuple[int, int, int]:
        """Changes whenever a `touch()` happened since (inode, size, modification time)."""
        if self.path is None:
            return (0, 0, 0)
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return (0, 0, 0)
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def touch(self) -> None:
        """Signal a change (after it is committed)."""
        if self.path is None:
            return
        with open(self.path, "ab") as signal:
            signal.write(b".")
            size = signal.tell()
        if size >= WRAP_BYTES:
            fresh = f"{self.path}.{os.getpid()}.new"
            with open(fresh, "wb") as empty:
                empty.write(b".")  # not empty: a size of 0 is what a missing file reads as
            with contextlib.suppress(FileNotFoundError):
                os.replace(fresh, self.path)
