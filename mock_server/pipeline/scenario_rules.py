"""Rules files: choose a reply from the request's content, for clients that cannot send a Prefer header.

```yaml
rules:
  - name: slow prompts are queued       # optional; named in errors
    operation: img_mixer                # optional: operationId, product (img_mixer...) or create/fetch
    when:                               # optional; every condition must hold
      prompt: {contains: slow}          # also equals, matches (regex), exists; `steps: 41` = equals
    then: {scenario: processing, eta: 4}  # the same names as the Prefer header
```
The first rule that matches wins. The same rules, as JSON, can be added while the mock runs
(`/_mixmock/rules`, `services/rules.py`); those are matched before the file's.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mock_server.pipeline.preferences import PreferenceError, Preferences, reply_preferences
from openapi.operations import Operation, load_operations

__all__ = ["RULE_KEYS", "Rule", "RulesError", "load_rules", "match_rules", "parse_rule", "parse_rules"]

Condition = Callable[[Any], bool]


RULE_KEYS = ("name", "operation", "when", "then")
_THEN_KEYS = ("scenario", "example", "code", "eta", "polls")


class RulesError(ValueError):
    """A rule the mock cannot use; the message names the rule and the value, `field` the rule's key
    (`then.scenario`, `when.prompt`...) where one is to blame."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Rule:
    name: str
    operation: str | None
    conditions: Mapping[str, Condition]
    then: Preferences
    document: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)  # as written

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


def _matches(pattern: Any, where: str, field: str) -> Condition:
    try:
        compiled = re.compile(str(pattern))
    except re.error as error:
        raise RulesError(
            f"{where}: matches {pattern!r} is not a regular expression: {error}", field
        ) from None
    return lambda value: isinstance(value, str) and compiled.search(value) is not None


def _condition(spec: Any, where: str, field: str) -> Condition:
    if not isinstance(spec, Mapping):
        return lambda value: value is not _MISSING and value == spec
    if len(spec) != 1:
        raise RulesError(
            f"{where}: a condition has exactly one of equals, contains, matches, exists; got {dict(spec)}",
            field,
        )
    (test, expected), *_ = spec.items()
    if test == "equals":
        return lambda value: value is not _MISSING and value == expected
    if test == "contains":
        return _contains(expected)
    if test == "matches":
        return _matches(expected, where, field)
    if test == "exists":
        return lambda value: (value is not _MISSING and value is not None) == bool(expected)
    raise RulesError(f"{where}: unknown test {test!r}; use equals, contains, matches or exists", field)


@functools.cache
def _operation_names() -> frozenset[str]:
    """What a rule's `operation` may name: an operationId, a product or a kind (create, fetch)."""
    operations = load_operations()
    return frozenset(
        name for op in operations for name in (op.operation_id, op.product, op.kind) if name is not None
    )


def _operation(raw: Any, name: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in _operation_names():
        known = ", ".join(sorted(_operation_names()))
        raise RulesError(f"{name}: operation {raw!r} names no operation; use one of {known}", "operation")
    return raw


def _then(then: Any, name: str, origin: str) -> Preferences:
    if not isinstance(then, Mapping) or not then:
        raise RulesError(f"{name}: `then` must be a non-empty mapping, not {then!r}", "then")
    unknown = sorted(str(key) for key in then if key not in _THEN_KEYS)
    if unknown:
        known = ", ".join(_THEN_KEYS)
        raise RulesError(f"{name}: `then` sets unknown names {unknown}; use {known}", f"then.{unknown[0]}")
    try:
        preferences = reply_preferences(then, f"{origin}, {name}")
    except PreferenceError as error:
        raise RulesError(str(error), f"then.{error.name}") from None
    if preferences.empty:
        raise RulesError(f"{name}: `then` sets none of {', '.join(_THEN_KEYS)}: {dict(then)}", "then")
    return preferences


def parse_rule(raw: Any, index: int = 0, origin: str = "rules file") -> Rule:
    """One rule from its document (a mapping of name, operation, when, then); RulesError naming the field."""
    if not isinstance(raw, Mapping):
        raise RulesError(f"rule #{index + 1} must be a mapping of {', '.join(RULE_KEYS)}, not {raw!r}")
    name = str(raw.get("name", f"rule #{index + 1}"))
    unknown = sorted(str(key) for key in raw if key not in RULE_KEYS)
    if unknown:
        raise RulesError(f"{name}: unknown keys {unknown}; use {', '.join(RULE_KEYS)}", unknown[0])
    when = raw.get("when") or {}
    if not isinstance(when, Mapping):
        raise RulesError(
            f"{name}: `when` must be a mapping of request field: condition, not {when!r}", "when"
        )
    preferences = _then(raw.get("then"), name, origin)
    conditions = {
        str(field): _condition(spec, f"{name}, field {field!r}", f"when.{field}")
        for field, spec in when.items()
    }
    operation = _operation(raw.get("operation"), name)
    return Rule(name, operation, conditions, preferences, dict(raw))


def parse_rules(document: Any) -> list[Rule]:
    if document is None:
        return []
    raw_rules = document.get("rules") if isinstance(document, Mapping) else document
    if not isinstance(raw_rules, list):
        raise RulesError("a rules file holds a list of rules, or a mapping with a `rules` list")
    return [parse_rule(raw, index) for index, raw in enumerate(raw_rules)]


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
