"""The machine-readable report: findings, the ranges matrix, counts and the corpus hash."""

from __future__ import annotations

import json
from dataclasses import asdict

from conformance.cases import render_value
from conformance.runner import AuditResult

__all__ = ["json_report"]


def json_report(result: AuditResult) -> str:
    config = result.config
    document = {
        "target": config.origin,
        "tiers": list(config.tiers),
        "webhooks": config.webhooks,
        "seed": config.seed,
        "budget": config.budget,
        "image_url": render_value(config.image_url),
        "budget_exhausted": result.budget_exhausted,
        "operations": result.operations,
        "requests": result.requests,
        "corpus": {"size": result.corpus_size, "sha256": result.corpus_hash},
        "tier_stats": [asdict(stats) for stats in result.tiers],
        "conformant": result.conformant,
        "findings": [
            {"key": finding.key, "text": str(finding), **asdict(finding)} for finding in result.findings
        ],
        "known_findings": [finding.key for finding in result.known],
        "observations": [{**asdict(item), "conforms": item.conforms} for item in result.observations],
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
