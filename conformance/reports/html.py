"""An HTML page a person can act on: the verdict first, then findings, every check, the ranges matrix.

Sections: the verdict (with a banner when the run is incomplete) and the run's facts; a legend; the
findings that fail the run, then those only reported (inferred constraints, baseline), each with its
source, a reproducer and the exchange that shows it; new / fixed / unchanged against the baseline; per
operation (fetch included) every check with its result, passes too, and for create operations the
matrix of parameters x constraints; the exchanges the findings point to.
"""

from __future__ import annotations

import json
from collections import defaultdict
from html import escape
from typing import Any

from conformance.findings import CheckRun, Finding, Observation
from conformance.judge import NAMES_FIELD
from conformance.runner import AuditResult
from conformance.sources import fails

__all__ = ["html_report"]

_STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1380px;padding:16px;color:#1d1d1f}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin-bottom:12px;table-layout:auto}
td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}th{background:#f3f3f3}
code,pre{font:12px/1.35 ui-monospace,monospace}pre{white-space:pre-wrap;word-break:break-all;margin:0}
.verdict{padding:12px 16px;border-radius:6px;margin-bottom:12px}.conformant{background:#dff3df}
.not-conformant{background:#f9d6d6}.incomplete{background:#fde9b6}
.banner{background:#b45309;color:#fff;font-weight:bold;padding:10px 16px;border-radius:6px;margin-bottom:12px}
.facts td{border:none;padding:1px 12px 1px 0}.facts{width:auto}
.stats{width:auto;float:left;margin-right:40px}.stats td{text-align:right}
.stats td:first-child{text-align:left}.clear{clear:both}
.ok{background:#e6f4e6}.bad{background:#f9d6d6}.info{background:#fff4d6}.skip{background:#eee;color:#555}
.chip{display:inline-block;margin:1px 4px 1px 0;padding:0 4px;border-radius:3px;white-space:nowrap}
.chip.ok{border:1px solid #8bc58b}.chip.bad{border:1px solid #d77}.chip.info{border:1px solid #d9b44a}
.src{font-size:11px;padding:0 4px;border-radius:3px;border:1px solid #999;white-space:nowrap}
.src-inferred{background:#fff4d6}.src-pages{background:#e8f0fe}.src-vendor-openapi{background:#efe6fb}
.matrix th:first-child{width:140px}.legend span{margin-right:14px}details summary{cursor:pointer;color:#06c}
"""
_VERDICTS = {
    "conformant": "Conformant",
    "not conformant": "Not conformant: {failing} finding(s) fail the run",
    "incomplete": "Incomplete: no verdict of conformance",
}
_PLANNED = "planned: the requests generated from the specs; polls, downloads and fetches by id come on top"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _source(source: str) -> str:
    return f'<span class="src src-{_e(source)}">{_e(source)}</span>'


def _facts(result: AuditResult) -> str:
    """Requests and seconds per tier, beside the budget, the seed, the corpus and --fail-on."""
    config = result.config
    head = "<tr><th>tier</th><th>requests</th><th>planned</th><th>seconds</th></tr>"
    rows = "".join(
        f"<tr><td>{_e(stats.tier)}</td><td>{stats.requests}</td><td>{stats.planned}</td>"
        f"<td>{stats.seconds:.2f}</td></tr>"
        for stats in result.tiers
    )
    budget = f"{result.requests} of {config.budget}" if config.budget else f"{result.requests} (no --budget)"
    facts = [
        ("budget used", _e(budget)),
        ("seed", str(config.seed)),
        ("corpus", f"{result.corpus_size} requests, sha256 <code>{_e(result.corpus_hash)}</code>"),
        ("fails on", f"{_e(config.fail_on)} constraints (--fail-on)"),
        ("checks", f"{sum(check.passed for check in result.checks)} of {len(result.checks)} passed"),
    ]
    cells = "".join(f"<tr><td>{name}</td><td>{value}</td></tr>" for name, value in facts)
    stats = f'<table class="stats" title="{_PLANNED}">{head}{rows}</table>'
    return f'{stats}<table class="facts">{cells}</table><div class="clear"></div>'


def _header(result: AuditResult) -> str:
    verdict = result.verdict
    text = _VERDICTS[verdict].format(failing=len(result.failing))
    extra = f"; {len(result.reported)} on inferred constraints reported" if result.reported else ""
    extra += f"; {len(result.known)} known from the baseline" if result.known else ""
    banner = ""
    if result.incomplete:
        banner = (
            f'<div class="banner">INCOMPLETE: {_e(result.incomplete)}. '
            "The checks below ran; the rest did not.</div>"
        )
    origin = _e(result.config.origin)
    head = f'<div class="verdict {verdict.replace(" ", "-")}"><h1>Audit of {origin}</h1><b>{_e(text)}</b>'
    return f"{head}{_e(extra)}</div>{banner}{_facts(result)}"


_LEGEND = (
    '<div class="legend"><b>Legend</b>: '
    '<span class="chip ok">20: rejected &#10003;</span>as expected '
    '<span class="chip bad">21: accepted &#10007;</span>a finding that fails the run '
    '<span class="chip info">0: accepted &#10007;</span>a finding only reported '
    '<span class="chip skip">skipped</span>could not be judged. Sources: '
    + _source("pages")
    + " the vendor's pages "
    + _source("vendor-openapi")
    + " the vendor's OpenAPI "
    + _source("inferred")
    + " the kit's own inference (reported; fails the run only with --fail-on inferred)</div>"
)


def _finding_row(result: AuditResult, finding: Finding) -> str:
    if finding.key in result.baseline:
        css, state = "skip", "known"
    elif finding in result.failing:
        css, state = "bad", "fails"
    else:
        css, state = "info", "reported"
    link = f'<a href="#x{finding.exchange}">#{finding.exchange}</a>' if finding.exchange else ""
    curl = ""
    if finding.curl:
        curl = f"<details><summary>reproduce with curl</summary><pre>{_e(finding.curl)}</pre></details>"
    return (
        f'<tr class="{css}"><td>{state}</td><td>{_e(finding.tier)}</td>'
        f"<td><b>{_e(finding.key)}</b>{curl}</td>"
        f"<td><code>{_e(finding.sent)}</code></td><td>{_e(finding.outcome)}</td>"
        f"<td>{_source(finding.provenance)}</td><td>{link}</td></tr>"
    )


def _finding_table(result: AuditResult, findings: list[Finding]) -> str:
    names = ("state", "tier", "finding", "sent", "observed", "source", "exchange")
    rows = "".join(_finding_row(result, finding) for finding in findings)
    return f"<table><tr>{''.join(f'<th>{name}</th>' for name in names)}</tr>{rows}</table>"


def _findings(result: AuditResult) -> str:
    """Failing findings first; those on inferred constraints and those the baseline knows below."""
    parts = [f"<h2>Findings that fail the run ({len(result.failing)})</h2>"]
    parts.append(_finding_table(result, result.failing) if result.failing else "<p>None.</p>")
    for title, group in (
        ("reported on inferred constraints (not failing; --fail-on inferred fails them)", result.reported),
        ("known from the baseline (not failing)", result.known),
    ):
        if group:
            summary = f"<summary><b>{len(group)} finding(s) {_e(title)}</b></summary>"
            parts.append(f"<details open>{summary}{_finding_table(result, group)}</details>")
    return "".join(parts)


def _baseline(result: AuditResult) -> str:
    if not result.baseline:
        return ""
    rows = []
    for name, items in (("new", result.new), ("fixed", result.fixed), ("unchanged", result.known)):
        keys = "<br>".join(_e(item.key) for item in items) or "-"
        if len(items) > 8:
            keys = f"<details><summary>show</summary>{keys}</details>"
        rows.append(f"<tr><th>{name} ({len(items)})</th><td>{keys}</td></tr>")
    return f"<h2>Against the baseline</h2><table>{''.join(rows)}</table>"


def _check_row(result: AuditResult, check: CheckRun) -> str:
    failing = {finding.key for finding in result.failing}
    if check.findings:
        css = "bad" if failing & set(check.findings) else "info"
        outcome = "&#10007; " + "<br>".join(_e(key) for key in check.findings)
    elif check.skipped:
        css, outcome = "skip", f"skipped: {_e(check.skipped)}"
    else:
        css, outcome = "ok", "&#10003; passed"
    tiers = _e(", ".join(check.tiers))
    cells = f"<td>{_e(check.check)}</td><td>{tiers}</td><td>{check.runs}</td><td>{outcome}</td>"
    return f'<tr class="{css}">{cells}</tr>'


def _chip(item: Observation, failing: bool) -> str:
    css = "ok" if item.conforms else ("bad" if failing else "info")
    mark = "&#10003;" if item.conforms else f"&#10007; expected {_e(item.expected)}"
    about = (
        f"{item.parameter} {item.constraint} [{item.provenance}]; sent {item.sent}; exchange #{item.exchange}"
    )
    shown = item.sent if len(item.sent) <= 24 else item.sent[:23] + "\u2026"
    return f'<span class="chip {css}" title="{_e(about)}">{_e(shown)}: {_e(item.observed)} {mark}</span>'


def _named(checks: dict[str, CheckRun], parameter: str) -> str:
    """The parameter's "the error message names it" check, as a line of its matrix row."""
    check = checks.get(f"{parameter}: {NAMES_FIELD}")
    if check is None:
        return ""
    css, text = ("ok", "&#10003;") if check.passed else ("bad", "&#10007; " + _e(", ".join(check.findings)))
    return f'<div><i>{NAMES_FIELD}</i> <span class="chip {css}">{check.runs} rejection(s) {text}</span></div>'


def _matrix(result: AuditResult, observations: list[Observation], checks: dict[str, CheckRun]) -> str:
    rows: dict[str, dict[str, list[Observation]]] = defaultdict(lambda: defaultdict(list))
    for item in observations:
        rows[item.parameter][item.constraint].append(item)
    fail_on, lines = result.config.fail_on, []
    for parameter, constraints in rows.items():
        cells = "".join(
            f"<div><i>{_e(constraint)}</i> {_source(items[0].provenance)} "
            + "".join(_chip(item, fails(item.provenance, fail_on)) for item in items)
            + "</div>"
            for constraint, items in constraints.items()
        )
        wrong = [item for items in constraints.values() for item in items if not item.conforms]
        css = (
            "ok"
            if not wrong
            else ("bad" if any(fails(item.provenance, fail_on) for item in wrong) else "info")
        )
        named = _named(checks, parameter)
        lines.append(f'<tr><th class="{css}">{_e(parameter)}</th><td>{cells}{named}</td></tr>')
    title = "Ranges: each probe, the value sent, what came back (hover for the constraint and exchange)"
    return f'<h3>{title}</h3><table class="matrix">{"".join(lines)}</table>'


def _operation(result: AuditResult, operation: str) -> str:
    checks = [check for check in result.checks if check.operation == operation]
    observations = [item for item in result.observations if item.operation == operation]
    in_matrix = {f"{item.parameter}: {item.constraint}" for item in observations}
    in_matrix |= {f"{item.parameter}: {NAMES_FIELD}" for item in observations}
    listed = [check for check in checks if check.check not in in_matrix]
    head = "<tr><th>check</th><th>tiers</th><th>runs</th><th>result</th></tr>"
    rows = "".join(_check_row(result, check) for check in listed)
    table = f"<table>{head}{rows}</table>" if listed else "<p>No check ran.</p>"
    matrix = ""
    if observations:
        matrix = f"<p>{len(checks) - len(listed)} more checks are in the ranges matrix below.</p>"
        matrix += _matrix(result, observations, {check.check: check for check in checks})
    passed = sum(check.passed for check in checks)
    title = f"{_e(operation)}: {passed} of {len(checks)} checks passed"
    return f'<h2 id="op-{_e(operation)}">{title}</h2>{table}{matrix}'


def _exchange(entry: Any) -> str:
    request = json.dumps(entry.get("request"), indent=1)[:2000]
    reply = json.dumps(entry.get("reply"), indent=1)[:3000]
    seq, outcome = entry.get("seq"), entry.get("status_code") or entry.get("error")
    return (
        f'<h3 id="x{seq}">#{seq} {_e(entry.get("method"))} {_e(entry.get("url"))} &rarr; {_e(outcome)}</h3>'
        f"<table><tr><th>request</th><th>reply</th></tr><tr><td><pre>{_e(request)}</pre></td>"
        f"<td><pre>{_e(reply)}</pre></td></tr></table>"
    )


def _exchanges(result: AuditResult) -> str:
    wanted = {finding.exchange for finding in result.findings if finding.exchange}
    blocks = [_exchange(entry) for entry in result.cassette if entry.get("seq") in wanted]
    if not blocks:
        return ""
    return "<h2>Exchanges behind the findings (# is the line of cassette.ndjson)</h2>" + "".join(blocks)


def html_report(result: AuditResult) -> str:
    operations = list(dict.fromkeys([*result.operations, *(check.operation for check in result.checks)]))
    toc = " &middot; ".join(f'<a href="#op-{_e(op)}">{_e(op)}</a>' for op in operations)
    body = (
        _header(result)
        + _LEGEND
        + _findings(result)
        + _baseline(result)
        + f"<p>Operations: {toc}</p>"
        + "".join(_operation(result, operation) for operation in operations)
        + _exchanges(result)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>mixmock audit</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )
