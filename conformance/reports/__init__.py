"""The audit's reports: console, JUnit XML, JSON, an HTML matrix and a cassette of every exchange.

Every writer filters the key, and the whole text of each file is filtered once more before it is written.
"""

from __future__ import annotations

import json
from pathlib import Path

from conformance.redact import Redactor
from conformance.reports.console import summary
from conformance.reports.html import html_report
from conformance.reports.json_report import json_report
from conformance.reports.junit import junit_report
from conformance.runner import AuditResult

__all__ = ["summary", "write_reports"]


def cassette(result: AuditResult) -> str:
    """One JSON line per exchange, in the order sent: request, status, reply (images by size)."""
    return "".join(json.dumps(entry, ensure_ascii=True, default=repr) + "\n" for entry in result.cassette)


def write_reports(result: AuditResult, directory: Path) -> list[Path]:
    """Writes audit.json, junit.xml, audit.html and cassette.ndjson into `directory`; returns their paths."""
    redactor = Redactor(result.config.key)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, render in (
        ("audit.json", json_report),
        ("junit.xml", junit_report),
        ("audit.html", html_report),
        ("cassette.ndjson", cassette),
    ):
        path = directory / name
        path.write_text(redactor.text(render(result)), encoding="utf-8")
        written.append(path)
    return written
