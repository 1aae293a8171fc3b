"""Rules files: choose a reply from the request's content, for clients that cannot send a Prefer header.

```yaml
rules:
  - name: slow prompts are queued       # optional; named in errors
    operation: img_mixer                # optional: operationId, product (img_mixer...) or create/fetch
    when:                               # optional; every condition must hold
      prompt: {contains: slow}          # also equals, matches (regex), exists; `steps: 41` = equals
    then: {scenario: processing, eta: 4}  # the same names as the Prefer header
```
The first rule that matches wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mock_server.pipeline.preferences import PreferenceError, Preferences, reply_preferences
from openapi.operations import Operation

__all__ = ["Rule", "RulesError", "load_rules", "match_rules", "parse_rules"]

Condition = Callable[[Any], bool]


class RulesError(ValueError):
    """A rules file the mock cannot use; the message names the rule and the value."""


@dataclass(frozen=True)
class Rule:
    name: str
    operation: str | None
    conditions: Mapping[str, Condition]
    then: Preferences

    def applies(self, operation: Operation, body: Any) -> bool:
        if self.operation is not None and self.operation not in {
            operation.operation_id,
            operation.product,
            operation.kind,
        }:
            return False
        if not isinstance(body, Mapping):
            return not self.conditions
        return all(condition(body.get(name, _MISSING)) for name, condition in self.conditions.items())


_MISSING = object()


def _contains(expected: Any) -> Condition:
    def check(value: Any) -> bool:
        if isinstance(value, str):
            return isinstance(expected, str) and expected.lower() in value.lower()
        if isinstance(value, list):
            return expected in value
        return False

    return check


def _matches(pattern: Any, where: str) -> Condition:
    try:
        compiled = re.compile(str(pattern))
    except re.error as error:
        raise RulesError(f"{where}: matches {pattern!r} is not a regular expression: {error}") from None
    return lambda value: isinstance(value, str) and compiled.search(value) is not None


def _condition(spec: Any, where: str) -> Condition:
    if not isinstance(spec, Mapping):
        return lambda value: value is not _MISSING and value == spec
    if len(spec) != 1:
        raise RulesError(
            f"{where}: a condition has exactly one of equals, contains, matches, exists; got {dict(spec)}"
        )
    (test, expected), *_ = spec.items()
    if test == "equals":
        return lambda value: value is not _MISSING and value == expected
    if test == "contains":
        return _contains(expected)
    if test == "matches":
        return _matches(expected, where)
    if test == "exists":
        return lambda value: (value is not _MISSING and value is not None) == bool(expected)
    raise RulesError(f"{where}: unknown test {test!r}; use equals, contains, matches or exists")


def _rule(index: int, raw: Any) -> Rule:
    if not isinstance(raw, Mapping):
        raise RulesError(f"rule #{index + 1} must be a mapping, not {raw!r}")
    name = str(raw.get("name", f"rule #{index + 1}"))
    unknown = set(raw) - {"name", "operation", "when", "then"}
    if unknown:
        raise RulesError(f"{name}: unknown keys {sorted(unknown)}; use name, operation, when, then")
    when = raw.get("when") or {}
    then = raw.get("then")
    if not isinstance(when, Mapping) or not isinstance(then, Mapping) or not then:
        raise RulesError(f"{name}: `when` must be a mapping and `then` a non-empty mapping")
    try:
        preferences = reply_preferences(then, f"rules file, {name}")
    except PreferenceError as error:
        raise RulesError(str(error)) from None
    if preferences.empty:
        raise RulesError(f"{name}: `then` sets none of scenario, example, code, eta, polls: {dict(then)}")
    conditions = {str(field): _condition(spec, f"{name}, field {field!r}") for field, spec in when.items()}
    operation = raw.get("operation")
    return Rule(name, None if operation is None else str(operation), conditions, preferences)


def parse_rules(document: Any) -> list[Rule]:
    if document is None:
        return []
    raw_rules = document.get("rules") if isinstance(document, Mapping) else document
    if not isinstance(raw_rules, list):
        raise RulesError("a rules file holds a list of rules, or a mapping with a `rules` list")
    return [_rule(index, raw) for index, raw in enumerate(raw_rules)]


def load_rules(path: str | None) -> list[Rule]:
    if not path:
        return []
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise RulesError(f"cannot read rules file {path!r}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise RulesError(f"rules file {path!r} is not valid YAML: {error}") from None
    return parse_rules(document)


def match_rules(rules: Sequence[Rule], operation: Operation, body: Any) -> Rule | None:
    return next((rule for rule in rules if rule.applies(operation, body)), None)
