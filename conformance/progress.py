"""Progress on stderr: a bar with an ETA per tier on a terminal, a line per tier otherwise, or nothing."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Protocol, TextIO

__all__ = ["Bar", "Lines", "Progress", "Quiet", "for_stream"]


class Progress(Protocol):
    def stage(self, name: str, planned: int | None) -> None: ...
    def advance(self) -> None: ...
    def done(self, name: str, requests: int, seconds: float) -> None: ...
    def note(self, text: str) -> None: ...


class Quiet:
    def stage(self, name: str, planned: int | None) -> None:
        return

    def advance(self) -> None:
        return

    def done(self, name: str, requests: int, seconds: float) -> None:
        return

    def note(self, text: str) -> None:
        return


class Lines:
    """One line per tier when it ends (logs, CI): no per-request noise."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def stage(self, name: str, planned: int | None) -> None:
        return

    def advance(self) -> None:
        return

    def done(self, name: str, requests: int, seconds: float) -> None:
        print(f"{name:<9} {requests:>5} requests {seconds:8.2f} s", file=self._stream, flush=True)

    def note(self, text: str) -> None:
        print(text, file=self._stream, flush=True)


def _tqdm() -> Any:
    """tqdm's bar class, imported when a terminal first needs it (the package ships no type hints)."""
    return importlib.import_module("tqdm").tqdm


class Bar:
    """A tqdm bar per tier: requests generated from the specs, out of the tier's count, with an ETA."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bar: Any = None

    def stage(self, name: str, planned: int | None) -> None:
        self._bar = _tqdm()(total=planned, desc=f"{name:<9}", unit="req", file=self._stream, leave=True)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def done(self, name: str, requests: int, seconds: float) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(f"{requests} sent with polls and downloads")
            self._bar.close()
            self._bar = None

    def note(self, text: str) -> None:
        _tqdm().write(text, file=self._stream)


def for_stream(stream: TextIO | None = None, *, quiet: bool = False) -> Progress:
    """A bar on a terminal, lines elsewhere, nothing when quiet."""
    stream = stream or sys.stderr
    if quiet:
        return Quiet()
    return Bar(stream) if stream.isatty() else Lines(stream)
