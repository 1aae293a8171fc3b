"""One audit run: choose the operations, run the tiers in order on one budget, collect the results."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.client import AuditClient, BudgetExhaustedError
from conformance.config import TIERS, AuditConfig, ConfigError
from conformance.findings import Finding, Findings, Observation
from conformance.jobs import PollPolicy
from conformance.judge import Judge
from conformance.tiers import TIER_RUNNERS, Context, run_webhooks
from openapi.operations import Operation, load_operations

__all__ = ["AuditResult", "TierStats", "run_audit", "select_operations"]


@dataclass(frozen=True)
class TierStats:
    tier: str
    requests: int
    seconds: float


@dataclass
class AuditResult:
    config: AuditConfig
    operations: list[str]
    findings: list[Finding]
    observations: list[Observation]
    requests: int
    corpus_hash: str
    corpus_size: int
    tiers: list[TierStats] = field(default_factory=list)
    cassette: list[dict[str, Any]] = field(default_factory=list)  # every exchange, key filtered
    budget_exhausted: bool = False
    known: list[Finding] = field(default_factory=list)  # findings the baseline already accepted

    @property
    def conformant(self) -> bool:
        return not self.findings


def select_operations(config: AuditConfig) -> list[Operation]:
    operations = load_operations(config.specs or None)
    if not config.operations:
        return operations
    known = {operation.operation_id for operation in load_operations()}
    for name in config.operations:
        if name not in known:
            raise ConfigError(
                f"--operations {name!r} is not an operationId; known: {', '.join(sorted(known))}"
            )
    chosen = [operation for operation in operations if operation.operation_id in config.operations]
    if not chosen:
        raise ConfigError(
            f"--operations {', '.join(config.operations)} lie outside --specs {', '.join(config.specs)}"
        )
    return chosen


def run_audit(
    config: AuditConfig,
    *,
    progress: Callable[[str], None] = lambda line: None,
    transport: httpx.BaseTransport | None = None,
) -> AuditResult:
    """Runs the chosen tiers; raises TargetUnreachableError when the first request gets no connection."""
    operations = select_operations(config)
    client = AuditClient(
        config.origin,
        config.key,
        budget=config.budget,
        rate_limit=config.rate_limit,
        timeout=config.http_timeout,
        transport=transport,
    )
    findings = Findings()
    judge = Judge(client, findings, progress=progress, image_url=config.image_url)
    ctx = Context(config, operations, judge, PollPolicy(config.job_timeout, config.poll_interval))
    stages: list[tuple[str, Callable[[Context], None]]] = [
        (tier, TIER_RUNNERS[tier]) for tier in TIERS if tier in config.tiers
    ]
    if config.webhooks:
        stages.append(("webhooks", run_webhooks))
    stats: list[TierStats] = []
    exhausted = False
    try:
        for name, stage in stages:
            before, started = client.sent, time.monotonic()
            try:
                stage(ctx)
            finally:
                stats.append(TierStats(name, client.sent - before, time.monotonic() - started))
    except BudgetExhaustedError:
        exhausted = True
        progress(f"budget of {config.budget} requests spent: the audit stopped early")
    finally:
        client.close()
    return AuditResult(
        config=config,
        operations=[operation.operation_id for operation in operations],
        findings=findings.all(),
        observations=judge.observations,
        requests=client.sent,
        corpus_hash=client.corpus_hash(),
        corpus_size=len(client.corpus),
        cassette=client.cassette,
        tiers=stats,
        budget_exhausted=exhausted,
    )
