"""Stage 3: which reply a request gets — success, processing, error or failed — and which named example.

Order of precedence: contract errors (a request that breaks the contract always gets the vendor's error),
then the Prefer header, then the first matching rule of the rules file, then the configured ratios,
then success. For fetch operations without a preference, the job's state decides later (`forced=False`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mock_server.pipeline.preferences import PreferenceError, Preferences
from mock_server.pipeline.scenario_rules import Rule, match_rules
from mock_server.pipeline.violations import Violation
from mock_server.settings import ErrorStatus
from openapi.operations import Operation
from openapi.vocabulary import SCENARIOS, Scenario

__all__ = ["REST_CODES", "Outcome", "Policy", "negotiate"]

# The HTTP status of each error example in REST-status mode (vendor mode sends them all with 200).
REST_CODES: Mapping[str, int] = {
    "error_invalid_request": 400,
    "error_invalid_key": 401,
    "error_validation": 422,
    "error_rate_limit": 429,
}
# `Prefer: code=N` picks the 200 example declared for N; 500 and 503 take their own response's example.
_CODE_EXAMPLES: Mapping[int, str] = {code: example for example, code in REST_CODES.items()}
SERVER_ERRORS = (500, 503)  # statuses whose reply is that status's own example in the spec


@dataclass(frozen=True)
class Policy:
    """The server-wide part of the choice: rules file, ratios and how errors map to HTTP statuses."""

    rules: Sequence[Rule] = ()
    ratios: Mapping[str, float] | None = None
    error_status: ErrorStatus = "vendor"


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    example: str  # the named example the reply follows ("server_error_500" for a made-up 500/503)
    status_code: int
    violations: tuple[Violation, ...] = ()
    eta: float | None = None
    polls: int | None = None
    forced: bool = False  # chosen by a preference, a rule or a ratio rather than by default
    rule: str | None = None


def _scenario_of(example: str) -> Scenario:
    for scenario in SCENARIOS:
        if example.startswith(scenario):
            return scenario
    return "error" if example.startswith("server_error") else "success"


def _error_example(operation: Operation, violations: Sequence[Violation]) -> str:
    keywords = {violation.keyword for violation in violations}
    if "malformed" in keywords:
        wanted = "error_invalid_request"
    elif "api_key" in keywords:
        wanted = "error_invalid_key"
    else:
        wanted = "error_validation"
    # Fetch operations declare only the key error: the vendor reads the key first and stops there.
    return wanted if wanted in operation.examples else "error_invalid_key"


def _example_for_scenario(operation: Operation, scenario: Scenario) -> str:
    names = list(operation.examples)
    if scenario in names:
        return scenario
    return next(name for name in names if name.startswith(scenario))


def _status(example: str, preferences: Preferences, policy: Policy) -> int:
    if preferences.code is not None:
        return preferences.code
    return REST_CODES.get(example, 200) if policy.error_status == "rest" else 200


def _preferred_example(operation: Operation, preferences: Preferences) -> str | None:
    if preferences.example is not None:
        if preferences.example not in operation.examples:
            known = ", ".join(operation.examples)
            raise PreferenceError(
                "example", preferences.example, f"is not an example of {operation.operation_id}: {known}"
            )
        return preferences.example
    if preferences.code is not None:
        if preferences.code not in operation.responses:
            declared = ", ".join(map(str, sorted(operation.responses)))
            raise PreferenceError(
                "code", preferences.code, f"is not declared by {operation.operation_id}: {declared}"
            )
        if preferences.code in SERVER_ERRORS:
            return f"server_error_{preferences.code}"
        if preferences.code != 200:
            return _CODE_EXAMPLES.get(preferences.code, "error_invalid_request")
    if preferences.scenario is not None:
        return _example_for_scenario(operation, preferences.scenario)
    return None


def _ratio_scenario(ratios: Mapping[str, float] | None, draw: float) -> Scenario | None:
    total = 0.0
    for scenario in SCENARIOS:
        total += (ratios or {}).get(scenario, 0.0)
        if draw < total:
            return scenario
    return None


def negotiate(
    operation: Operation,
    body: Any,
    violations: Sequence[Violation],
    preferences: Preferences,
    policy: Policy,
    draw: float,
) -> Outcome:
    """The outcome for one request; `draw` is a number in [0, 1) from the server's seeded generator."""
    if violations:
        error = _error_example(operation, violations)
        return Outcome("error", error, _status(error, Preferences(), policy), tuple(violations))
    rule = match_rules(policy.rules, operation, body)
    chosen = preferences.over(rule.then) if rule is not None else preferences
    rule_name = rule.name if rule is not None and not rule.then.empty else None
    example: str | None = _preferred_example(operation, chosen)
    if example is None and operation.kind == "create":
        scenario = _ratio_scenario(policy.ratios, draw)
        example = None if scenario is None else _example_for_scenario(operation, scenario)
    forced = example is not None
    name = example or "success"
    return Outcome(
        _scenario_of(name),
        name,
        _status(name, chosen, policy),
        eta=chosen.eta,
        polls=chosen.polls,
        forced=forced,
        rule=rule_name,
    )
