"""One audit run: choose the operations, run the stages in order on one budget, collect the results.

A run that is cut short (the budget spent, --max-time reached, the target gone) keeps what it learned
and says so: its verdict is "incomplete", never "conformant".
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.client import AuditClient, RunCutShortError
from conformance.config import TIERS, AuditConfig, ConfigError
from conformance.context import Context
from conformance.findings import CheckRun, Finding, Ledger, Observation
from conformance.jobs import PollPolicy
from conformance.judge import Judge
from conformance.progress import Progress, Quiet
from conformance.redact import Redactor
from conformance.sources import fails
from conformance.tiers import STAGES
from openapi.operations import Operation, load_operations

__all__ = ["AuditResult", "PlannedRequest", "TierStats", "plan_audit", "run_audit", "select_operations"]


@dataclass(frozen=True)
class TierStats:
    tier: str
    requests: int
    seconds: float
    planned: int = 0  # requests generated from the specs (polls, downloads and fetches by id come on top)


@dataclass(frozen=True)
class PlannedRequest:
    stage: str
    method: str
    path: str
    about: str  # `steps: maximum 50, 51`


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
    checks: list[CheckRun] = field(default_factory=list)
    incomplete: str = ""  # why the run stopped early; "" when it ran to the end
    baseline: Mapping[str, Finding] = field(default_factory=dict)  # the known findings, by key
    repeats: Mapping[str, int] = field(default_factory=dict)

    @property
    def budget_exhausted(self) -> bool:
        return self.incomplete.startswith("the budget")

    @property
    def known(self) -> list[Finding]:
        """Findings the baseline already lists: reported, never failing."""
        return [finding for finding in self.findings if finding.key in self.baseline]

    @property
    def new(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.key not in self.baseline]

    @property
    def failing(self) -> list[Finding]:
        """New findings on constraints whose source --fail-on counts (by default, the documented ones)."""
        return [finding for finding in self.new if fails(finding.provenance, self.config.fail_on)]

    @property
    def reported(self) -> list[Finding]:
        """New findings on inferred constraints, reported without failing the run."""
        return [finding for finding in self.new if not fails(finding.provenance, self.config.fail_on)]

    @property
    def fixed(self) -> list[Finding]:
        """Baseline findings whose check ran this time and no longer finds them."""
        ran = {(check.operation, check.check) for check in self.checks if not check.skipped}
        found = {finding.key for finding in self.findings}
        return [
            finding
            for key, finding in self.baseline.items()
            if key not in found and (finding.operation, finding.check) in ran
        ]

    @property
    def verdict(self) -> str:
        if self.incomplete:
            return "incomplete"
        return "not conformant" if self.failing else "conformant"

    @property
    def conformant(self) -> bool:
        return self.verdict == "conformant"


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


def _stages(config: AuditConfig) -> list[str]:
    return [tier for tier in TIERS if tier in config.tiers] + (["webhooks"] if config.webhooks else [])


def _client(config: AuditConfig, transport: httpx.AsyncBaseTransport | None) -> AuditClient:
    return AuditClient(
        config.origin,
        config.key,
        budget=config.budget,
        rate_limit=config.rate_limit,
        timeout=config.http_timeout,
        max_time=config.max_time,
        download_hosts=config.download_hosts,
        transport=transport,
    )


def plan_audit(config: AuditConfig) -> list[PlannedRequest]:
    """Every request the run would generate from the specs, per stage, without sending anything."""
    operations = select_operations(config)
    client = _client(dataclasses.replace(config, budget=None, max_time=None, rate_limit=None), None)
    client.dry_run = True
    judge = Judge(client, Ledger(), image_url=config.image_url)
    ctx = Context(config, operations, judge, PollPolicy(0.0, 0.0))
    planned: list[PlannedRequest] = []
    try:
        for name in _stages(config):
            before = len(client.log)
            STAGES[name](ctx)
            planned.extend(PlannedRequest(name, *entry) for entry in client.log[before:])
    finally:
        client.close()
    return planned


def _redacted(value: Any, redactor: Redactor) -> Any:
    """A dataclass with the key removed from every string it holds."""
    changes = {
        item.name: redactor.data(getattr(value, item.name))
        for item in dataclasses.fields(value)
        if isinstance(getattr(value, item.name), str | list | tuple | dict)
    }
    return dataclasses.replace(value, **changes)


def run_audit(
    config: AuditConfig,
    *,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    baseline: Mapping[str, Finding] | None = None,
) -> AuditResult:
    """Runs the chosen stages; raises TargetUnreachableError when nothing usable ever comes back."""
    progress = progress or Quiet()
    operations = select_operations(config)
    planned: dict[str, int] = {}  # per stage, for the progress bar's ETA and the reports
    for item in plan_audit(config):
        planned[item.stage] = planned.get(item.stage, 0) + 1
    client = _client(config, transport)
    ledger = Ledger()
    judge = Judge(client, ledger, progress=progress.advance, image_url=config.image_url)
    ctx = Context(config, operations, judge, PollPolicy(config.job_timeout, config.poll_interval))
    stats: list[TierStats] = []
    incomplete = ""
    try:
        for name in _stages(config):
            before, started = client.sent, time.monotonic()
            progress.stage(name, planned.get(name))
            try:
                STAGES[name](ctx)
            finally:
                stat = TierStats(name, client.sent - before, time.monotonic() - started, planned.get(name, 0))
                stats.append(stat)
                progress.done(name, stat.requests, stat.seconds)
    except RunCutShortError as stop:
        incomplete = str(stop)
        progress.note(f"the audit stopped early: {incomplete}")
    finally:
        client.close()
    redactor = client.redactor
    return AuditResult(
        config=config,
        operations=[operation.operation_id for operation in operations],
        findings=[_redacted(finding, redactor) for finding in ledger.findings()],
        observations=[_redacted(item, redactor) for item in judge.observations],
        requests=client.sent,
        corpus_hash=client.corpus_hash(),
        corpus_size=len(client.corpus),
        cassette=redactor.data(client.cassette),
        tiers=stats,
        checks=[_redacted(check, redactor) for check in ledger.checks()],
        incomplete=redactor.text(incomplete),
        baseline=dict(baseline or {}),
        repeats=dict(ledger.repeats),
    )
