"""The console summary: findings one per line, then counts per tier."""

from __future__ import annotations

from conformance.runner import AuditResult

__all__ = ["summary"]


def summary(result: AuditResult) -> str:
    lines = [f"audited {', '.join(result.operations)} at {result.config.origin}"]
    for stats in result.tiers:
        lines.append(f"  {stats.tier:<9} {stats.requests:>5} requests  {stats.seconds:7.2f} s")
    lines.append(
        f"  requests sent: {result.requests}; corpus {result.corpus_size} requests, "
        f"sha256 {result.corpus_hash[:16]}"
    )
    if result.budget_exhausted:
        lines.append(f"  budget of {result.config.budget} requests spent: the audit is incomplete")
    if result.known:
        lines.append(f"  {len(result.known)} known finding(s) accepted by the baseline")
    if result.findings:
        lines.append(f"{len(result.findings)} finding(s):")
        lines.extend(f"  [{finding.tier}] {finding}" for finding in result.findings)
    else:
        lines.append("conformant: no findings")
    return "\n".join(lines)
