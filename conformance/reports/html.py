"""An HTML page: per operation, a matrix of parameters x constraints (expected vs observed), then findings."""

from __future__ import annotations

from collections import defaultdict
from html import escape

from conformance.findings import Observation
from conformance.runner import AuditResult

__all__ = ["html_report"]

_STYLE = """
body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #999;padding:4px 8px;vertical-align:top;font-size:90%}
.ok{background:#e6f4e6}.bad{background:#f9d6d6}.none{color:#999}td span{white-space:nowrap}
"""
_SHOWN = 28  # characters of a sent value shown in a cell; the whole value is in its tooltip


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "\u2026"


def _line(item: Observation) -> str:
    """`21: rejected ✓`, or `21: accepted ✗ expected reject`; the tooltip has the constraint and value."""
    verdict = "\u2713" if item.conforms else f"\u2717 expected {item.expected}"
    tooltip = escape(f"{item.parameter} {item.constraint}; sent {item.sent}", quote=True)
    return f'<span title="{tooltip}">{escape(_short(item.sent))}: {escape(item.observed)} {verdict}</span>'


def _cell(items: list[Observation]) -> str:
    if not items:
        return '<td class="none">-</td>'
    css = "ok" if all(item.conforms for item in items) else "bad"
    return f'<td class="{css}">' + "<br>".join(_line(item) for item in items) + "</td>"


def _matrix(operation: str, observations: list[Observation]) -> str:
    rows: dict[str, dict[str, list[Observation]]] = defaultdict(lambda: defaultdict(list))
    columns: list[str] = []
    for item in observations:
        kind = item.constraint.split(" ")[0]
        if kind not in columns:
            columns.append(kind)
        rows[item.parameter][kind].append(item)
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    body = "".join(
        f"<tr><th>{escape(parameter)}</th>"
        + "".join(_cell(cells.get(column, [])) for column in columns)
        + "</tr>"
        for parameter, cells in rows.items()
    )
    return f"<h2>{escape(operation)}</h2><table><tr><th>parameter</th>{head}</tr>{body}</table>"


def html_report(result: AuditResult) -> str:
    by_operation: dict[str, list[Observation]] = defaultdict(list)
    for item in result.observations:
        by_operation[item.operation].append(item)
    matrices = "".join(_matrix(operation, items) for operation, items in by_operation.items())
    findings = "".join(f"<li>[{escape(f.tier)}] {escape(str(f))}</li>" for f in result.findings)
    verdict = "conformant" if result.conformant else f"{len(result.findings)} finding(s)"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>mixmock audit</title>"
        f"<style>{_STYLE}</style></head><body><h1>Audit of {escape(result.config.origin)}: {verdict}</h1>"
        f"<p>{result.requests} requests; corpus sha256 {result.corpus_hash}</p>"
        f"<h2>Findings</h2><ul>{findings or '<li>none</li>'}</ul>{matrices}</body></html>\n"
    )
