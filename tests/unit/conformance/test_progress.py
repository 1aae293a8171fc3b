from __future__ import annotations

import io

import pytest

from conformance.progress import Bar, Lines, Quiet, for_stream

pytestmark = pytest.mark.unit


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_an_eta_and_a_log_gets_a_line_per_tier() -> None:
    terminal = _Terminal()
    bar = for_stream(terminal)
    assert isinstance(bar, Bar)
    bar.stage("ranges", 4)
    for _ in range(4):
        bar.advance()
    bar.done("ranges", 6, 0.5)
    assert "ranges" in terminal.getvalue()
    assert "4/4" in terminal.getvalue()
    assert "<" in terminal.getvalue()
    log = io.StringIO()
    lines = for_stream(log)
    assert isinstance(lines, Lines)
    lines.stage("smoke", 9)
    lines.advance()
    lines.done("smoke", 9, 0.25)
    assert log.getvalue() == "smoke         9 requests     0.25 s\n"
    assert isinstance(for_stream(log, quiet=True), Quiet)
