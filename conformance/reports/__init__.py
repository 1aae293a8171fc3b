"""The audit's reports: console, JUnit XML, JSON, an HTML page and a cassette of every exchange.

The result they render is already redacted (every string value, before rendering): each file is then
written by its own serializer, so no key, however common a word, can corrupt its structure.
"""

from __future__ import annotations

import json
from pathlib import Path

from conformance.reports.console import dry_run_listing, summary
from conformance.reports.html import html_report
from conformance.reports.json_report import json_report
from conformance.reports.junit import junit_report
from conformance.runner import AuditResult

__all__ = ["cassette", "dry_run_listing", "summary", "write_reports"]


def cassette(result: AuditResult) -> str:
    """One JSON line per exchange, in the order sent (line N is exchange #N): request, status, reply."""
    return "".join(json.dumps(entry, ensure_ascii=True, default=repr) + "\n" for entry in result.cassette)


def write_reports(result: AuditResult, directory: Path) -> list[Path]:
    """Writes audit.json, junit.xml, audit.html and cassette.ndjson into `directory`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, render in (
        ("audit.json", json_report),
        ("junit.xml", junit_report),
        ("audit.html", html_report),
        ("cassette.ndjson", cassette),
    ):
        path = directory / name
        path.write_text(render(result), encoding="utf-8")
        written.append(path)
    return written
