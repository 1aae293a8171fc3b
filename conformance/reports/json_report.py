"""The machine-readable report: the verdict, findings with their source and reproducer, every check."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from conformance.cases import render_value
from conformance.findings import Finding
from conformance.runner import AuditResult

__all__ = ["finding_entry", "json_report"]


def finding_entry(result: AuditResult, finding: Finding) -> dict[str, Any]:
    """A finding as the reports give it: its key, text, state against the baseline, and whether it fails."""
    return {
        "key": finding.key,
        "text": str(finding),
        "status": "known" if finding.key in result.baseline else "new",
        "fails": finding in result.failing,
        "cassette_line": finding.exchange or None,
        **asdict(finding),
    }


def json_report(result: AuditResult) -> str:
    config = result.config
    document = {
        "target": config.origin,
        "verdict": result.verdict,
        "conformant": result.conformant,
        "incomplete": result.incomplete or None,
        "tiers": list(config.tiers),
        "webhooks": config.webhooks,
        "seed": config.seed,
        "budget": config.budget,
        "fail_on": config.fail_on,
        "image_url": render_value(config.image_url),
        "budget_exhausted": result.budget_exhausted,
        "operations": result.operations,
        "requests": result.requests,
        "corpus": {"size": result.corpus_size, "sha256": result.corpus_hash},
        "tier_stats": [asdict(stats) for stats in result.tiers],
        "counts": {
            "failing": len(result.failing),
            "inferred": len(result.reported),
            "known": len(result.known),
            "fixed": len(result.fixed),
            "checks": len(result.checks),
            "checks_passed": sum(check.passed for check in result.checks),
        },
        "findings": [finding_entry(result, finding) for finding in result.findings],
        "known_findings": [finding.key for finding in result.known],
        "fixed_findings": [finding.key for finding in result.fixed],
        "checks": [{**asdict(check), "passed": check.passed} for check in result.checks],
        "observations": [{**asdict(item), "conforms": item.conforms} for item in result.observations],
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
