"""Sending one case and judging its reply: contract checks, then acceptance against the oracle."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.cases import Case, render_value
from conformance.checks import Reply, run_checks
from conformance.client import AuditClient, Exchange
from conformance.findings import Finding, Findings, Observation
from conformance.inputs import with_image_url
from conformance.oracle import Verdict, Violation, request_violations, verdict

__all__ = ["Judge"]


def _rejection(body: Any) -> str:
    message = body.get("message", body.get("messege")) if isinstance(body, Mapping) else None
    return f"rejected: {render_value(message, 60)}" if message is not None else "rejected"


def _pick(violations: list[Violation], case: Case) -> Violation:
    for violation in violations:
        if violation.parameter == case.parameter:
            return violation
    return violations[0]


@dataclass
class Judge:
    client: AuditClient
    findings: Findings
    observations: list[Observation] = field(default_factory=list)
    progress: Callable[[str], None] = lambda line: None
    image_url: str | None = None  # replaces the pages' image URLs in every case sent
    _replies: dict[str, tuple[Any, Exchange]] = field(default_factory=dict)

    def send(self, case: Case) -> Reply:
        """Sends a case once per run: identical requests (samples min 1 = max 1) share one reply."""
        case = with_image_url(case, self.image_url)
        signature = json.dumps(
            [
                case.operation.operation_id,
                dict(case.path_parameters),
                repr(self.client.body_for(case)),
                dict(case.headers),
            ],
            sort_keys=True,
            default=repr,
        )
        if signature not in self._replies:
            self._replies[signature] = self.client.send(case)
        body, exchange = self._replies[signature]
        label = "page example" if case.constraint == "page example" else f"{case.parameter}={case.sent}"
        return Reply(case.operation, case.tier, self.client.redactor.text(label), body, exchange)

    def add(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.findings.add(self._redacted(finding))

    def _redacted(self, finding: Finding) -> Finding:
        text = self.client.redactor.text
        return Finding(
            finding.operation,
            finding.subject,
            finding.constraint,
            text(finding.sent),
            text(finding.outcome),
            finding.tier,
        )

    def judge(self, case: Case) -> Reply:
        """Contract checks on the reply, and for create operations: in contract <=> accepted."""
        case = with_image_url(case, self.image_url)
        reply = self.send(case)
        self.add(run_checks(reply))
        if case.operation.kind == "create" and not reply.exchange.error:
            self._acceptance(case, reply)
        return reply

    def _acceptance(self, case: Case, reply: Reply) -> None:
        violations = request_violations(case.operation.request_schema, reply.body)
        bad_key = case.key_override is not None or case.omit_key
        outcome = verdict(reply.exchange.status_code, reply.exchange.json)
        expected = "reject" if violations or bad_key else "accept"
        if case.tier == "ranges":
            self.observations.append(
                Observation(
                    case.operation.operation_id,
                    case.parameter,
                    case.constraint,
                    case.sent,
                    expected,
                    outcome.value,
                )
            )
        operation = case.operation.operation_id
        if expected == "reject" and outcome is Verdict.ACCEPTED:
            if bad_key:
                self.add([Finding(operation, "key", case.constraint, case.sent, "accepted", case.tier)])
                return
            chosen = _pick(violations, case)
            sent = case.sent if chosen.parameter == case.parameter else render_value(chosen.value)
            self.add([Finding(operation, chosen.parameter, chosen.constraint, sent, "accepted", case.tier)])
        elif expected == "accept" and outcome is Verdict.REJECTED:
            self.add(
                [
                    Finding(
                        operation,
                        case.parameter,
                        case.constraint,
                        case.sent,
                        _rejection(reply.exchange.json),
                        case.tier,
                    )
                ]
            )
