"""The console: findings one per line (failing, inferred, known), counts per tier, the verdict last."""

from __future__ import annotations

from conformance.config import AuditConfig
from conformance.findings import Finding
from conformance.runner import AuditResult, PlannedRequest

__all__ = ["dry_run_listing", "summary", "verdict_line"]


def verdict_line(result: AuditResult) -> str:
    if result.incomplete:
        return f"INCOMPLETE: {result.incomplete}; what ran is reported, but this is no verdict of conformance"
    if result.failing:
        return f"NOT CONFORMANT: {len(result.failing)} finding(s) fail the run"
    return "CONFORMANT" + (
        f" ({len(result.reported)} finding(s) on inferred constraints)" if result.reported else ""
    )


def _lines(title: str, findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    return [title, *(f"  [{finding.tier}] {finding} ({finding.provenance})" for finding in findings)]


def summary(result: AuditResult) -> str:
    config = result.config
    lines = [f"audited {', '.join(result.operations)} at {config.origin}"]
    for stats in result.tiers:
        lines.append(f"  {stats.tier:<9} {stats.requests:>5} requests  {stats.seconds:7.2f} s")
    budget = f" of a budget of {config.budget}" if config.budget else ""
    lines.append(
        f"  requests sent: {result.requests}{budget}; corpus {result.corpus_size} requests, "
        f"sha256 {result.corpus_hash[:16]}; seed {config.seed}"
    )
    lines += _lines(f"{len(result.failing)} finding(s) fail the run:", result.failing)
    lines += _lines(
        f"{len(result.reported)} finding(s) on inferred constraints, reported "
        "(--fail-on inferred fails them):",
        result.reported,
    )
    lines += _lines(f"{len(result.known)} known finding(s) (in the baseline):", result.known)
    lines += _lines(f"{len(result.fixed)} baseline finding(s) fixed:", result.fixed)
    lines.append(verdict_line(result))
    return "\n".join(lines)


def dry_run_listing(config: AuditConfig, planned: list[PlannedRequest]) -> str:
    """What a run would send, per tier, with the counts; nothing is sent."""
    lines = [f"dry run: nothing is sent to {config.origin}"]
    stages = list(dict.fromkeys(item.stage for item in planned))
    for stage in stages:
        items = [item for item in planned if item.stage == stage]
        lines.append(f"{stage}: {len(items)} requests")
        lines.extend(f"  {item.method} {item.path}  {item.about}" for item in items)
    lines.append(
        f"total: {len(planned)} requests, plus what the replies decide: fetch polls of queued jobs (every "
        f"{config.poll_interval:g} s for up to {config.job_timeout:g} s), one download per output image, "
        "and fetches of the returned job ids"
    )
    return "\n".join(lines)
