"""The audit's reports: console, JUnit XML, JSON and an HTML matrix; every writer filters the key."""

from __future__ import annotations

from pathlib import Path

from conformance.redact import Redactor
from conformance.reports.console import summary
from conformance.reports.html import html_report
from conformance.reports.json_report import json_report
from conformance.reports.junit import junit_report
from conformance.runner import AuditResult

__all__ = ["summary", "write_reports"]


def write_reports(result: AuditResult, directory: Path) -> list[Path]:
    """Writes audit.json, junit.xml and audit.html into `directory`; returns their paths."""
    redactor = Redactor(result.config.key)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, render in (
        ("audit.json", json_report),
        ("junit.xml", junit_report),
        ("audit.html", html_report),
    ):
        path = directory / name
        path.write_text(redactor.text(render(result)), encoding="utf-8")
        written.append(path)
    return written
