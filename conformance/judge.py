"""Sending one case and judging its reply: contract checks, then acceptance against the oracle.

The judge also keeps the ledger: every check it runs is recorded (a pass is a row in the reports too),
with the findings it made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.cases import Case, RawBody
from conformance.checks import Reply, run_checks
from conformance.client import AuditClient, Exchange
from conformance.findings import Finding, Ledger, Observation
from conformance.inputs import with_image_url
from conformance.oracle import Verdict, Violation, request_violations, verdict
from conformance.sources import request_source

__all__ = ["NAMES_FIELD", "Judge", "names_field"]

NAMES_FIELD = "the error message names it"


def _message(body: Any) -> Any:
    return body.get("message", body.get("messege")) if isinstance(body, Mapping) else None


def _rejection(exchange: Exchange) -> str:
    message = _message(exchange.json)
    return f"rejected: {exchange.show(message, 100)}" if message is not None else "rejected"


def names_field(message: Any, parameter: str) -> bool:
    """Does an error message name `parameter` ("init_image", "init image", "The init image.1 must...")?"""
    if isinstance(message, Mapping):  # Laravel's {field: [messages]}
        return any(
            names_field(name, parameter) or names_field(text, parameter) for name, text in message.items()
        )
    if isinstance(message, list):
        return any(names_field(item, parameter) for item in message)
    if not isinstance(message, str):
        return False
    text = message.lower().replace("_", " ")
    return any(re.search(rf"\b{re.escape(name.replace('_', ' '))}\b", text) for name in parameter.split(","))


def _pick(violations: list[Violation], case: Case) -> Violation:
    """The violation the case is about: its parameter and constraint first, then its parameter."""
    for violation in violations:
        if (violation.parameter, violation.constraint) == (case.parameter, case.constraint):
            return violation
    for violation in violations:
        if violation.parameter == case.parameter:
            return violation
    return violations[0]


@dataclass
class Judge:
    client: AuditClient
    ledger: Ledger
    observations: list[Observation] = field(default_factory=list)
    progress: Callable[[], None] = lambda: None  # one corpus request sent
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
                case.attempt,
            ],
            sort_keys=True,
            default=repr,
        )
        if signature not in self._replies:
            self._replies[signature] = self.client.send(case)
            self.progress()
        body, exchange = self._replies[signature]
        label = "page example" if case.constraint == "page example" else f"{case.parameter}={case.sent}"
        if isinstance(case.value, RawBody) or (
            case.parameter == "(body)" and case.constraint != "page example"
        ):
            label = f"{case.constraint}: {case.sent}"
        return Reply(case.operation, case.tier, label, body, exchange)

    def record(self, operation: str, tier: str, check: str, findings: list[Finding]) -> None:
        """A check ran on `operation`; `findings` (none: it passed) are what it found."""
        self.ledger.ran(operation, check, tier)
        for finding in findings:
            self.ledger.add(finding, check)

    def skip(self, operation: str, tier: str, check: str, reason: str) -> None:
        self.ledger.skip(operation, check, tier, reason)

    def check(self, reply: Reply) -> None:
        """The contract checks every reply is asked."""
        for name, findings in run_checks(reply):
            self.record(reply.operation.operation_id, reply.tier, name, findings)

    def judge(self, case: Case) -> Reply:
        """Contract checks on the reply, and for create operations: in contract <=> accepted."""
        reply = self.send(case)
        self.check(reply)
        if case.operation.kind == "create" and not reply.exchange.error and not reply.exchange.skipped:
            self._acceptance(with_image_url(case, self.image_url), reply)
        return reply

    def _acceptance(self, case: Case, reply: Reply) -> None:
        violations = request_violations(case.operation.request_schema, reply.body)
        bad_key = case.key_override is not None or case.omit_key
        outcome = verdict(reply.exchange.status_code, reply.exchange.json)
        expected = "reject" if violations or bad_key else "accept"
        operation = case.operation.operation_id
        chosen = _pick(violations, case) if violations and not bad_key else None
        parameter = chosen.parameter if chosen else case.parameter
        constraint = chosen.constraint if chosen else case.constraint
        source = case.provenance or request_source(case.operation, parameter, constraint)
        if case.tier == "ranges":
            self.observations.append(
                Observation(
                    operation,
                    case.parameter,
                    case.constraint,
                    case.sent,
                    expected,
                    outcome.value,
                    source,
                    reply.exchange.seq,
                )
            )
        about_case = chosen is None or (
            chosen.parameter == case.parameter and not chosen.constraint.startswith("rule ")
        )
        sent = case.sent if about_case or chosen is None else chosen.sent
        check = (
            f"{parameter}: {constraint}"
            if case.tier == "ranges" or chosen
            else "positive bodies are accepted"
        )
        findings: list[Finding] = []
        if expected == "reject" and outcome in {Verdict.ACCEPTED, Verdict.FAILED}:
            findings.append(replace(reply.finding(parameter, constraint, outcome.value, source), sent=sent))
        elif expected == "accept" and outcome is Verdict.REJECTED:
            outcome_text = _rejection(reply.exchange)
            findings.append(replace(reply.finding(parameter, constraint, outcome_text, source), sent=sent))
        self.record(operation, case.tier, check, findings)
        if expected == "reject" and outcome is Verdict.REJECTED and chosen is not None:
            self._names_field(reply, chosen, source)

    def _names_field(self, reply: Reply, chosen: Violation, source: Any) -> None:
        """A rejection for one field says which field (the vendor's messages do: "The steps must...")."""
        if chosen.parameter == "(body)":
            return
        message = _message(reply.exchange.json)
        found = []
        if message is not None and not names_field(message, chosen.parameter):
            outcome = f"got {reply.exchange.show(message)}"
            found.append(reply.finding(chosen.parameter, NAMES_FIELD, outcome, "pages"))
        self.record(reply.operation.operation_id, reply.tier, f"{chosen.parameter}: {NAMES_FIELD}", found)
