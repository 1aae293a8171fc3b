"""Run-time rules: each bad rule named by its field, unique names, bounds, ids, lookups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.pipeline.scenario_rules import RulesError
from mock_server.services import rules as rules_module
from mock_server.services.rules import RuleConflictError, RunTimeRules, SQLiteRules

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

RULE: dict[str, Any] = {"operation": "img_mixer", "when": {"steps": 41}, "then": {"scenario": "processing"}}


@pytest.fixture
def run_time(tmp_path: Path) -> Iterator[RunTimeRules]:
    store = SQLiteRules(str(tmp_path / "jobs.sqlite3"))
    yield RunTimeRules(store)
    store.close()


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({**RULE, "then": {"scenario": "later"}}, "then.scenario", "scenario='later'"),
        ({**RULE, "then": {"scenaro": "error"}}, "then.scenaro", "unknown names ['scenaro']"),
        ({**RULE, "then": {}}, "then", "non-empty"),
        ({**RULE, "then": {"eta": -1}}, "then.eta", "eta=-1"),
        ({**RULE, "when": {"prompt": {"near": "x"}}}, "when.prompt", "unknown test 'near'"),
        ({**RULE, "when": {"prompt": {"matches": "("}}}, "when.prompt", "not a regular expression"),
        ({**RULE, "when": ["steps"]}, "when", "must be a mapping"),
        ({**RULE, "operation": "img_mix"}, "operation", "'img_mix' names no operation"),
        ({**RULE, "else": 1}, "else", "unknown keys ['else']"),
        ({**RULE, "id": "r9"}, "id", "the mock gives each rule its id"),
        ({**RULE, "name": ""}, "name", "non-empty text"),
        ({**RULE, "name": "r12"}, "name", "looks like a rule id"),
        ({**RULE, "name": "x" * 201}, "name", "at most 200"),
    ],
    ids=[
        "bad-scenario",
        "unknown-then",
        "empty-then",
        "negative-eta",
        "unknown-test",
        "bad-regex",
        "when-not-mapping",
        "unknown-operation",
        "unknown-key",
        "id-given",
        "empty-name",
        "name-like-id",
        "long-name",
    ],
)
def test_a_bad_rule_names_its_field(
    run_time: RunTimeRules, rule: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(RulesError) as raised:
        run_time.add(rule)
    assert raised.value.field == field
    assert words in str(raised.value)
    assert run_time.documents() == ()


def test_a_rule_that_is_no_object_is_refused(run_time: RunTimeRules) -> None:
    with pytest.raises(RulesError, match="a rule is a JSON object"):
        run_time.add(["then"])
    with pytest.raises(RulesError, match=r"rules\[1\]: a rule is a JSON object"):
        run_time.replace([RULE, "x"])
    with pytest.raises(RulesError, match="a list of rules"):
        run_time.replace({"rule": []})


def test_added_rules_get_ids_names_and_keep_their_order(run_time: RunTimeRules) -> None:
    first = run_time.add(RULE)
    second = run_time.add({**RULE, "name": "slow"})
    assert (first["id"], first["name"]) == ("r1", "r1")  # unnamed: named after its id
    assert (second["id"], second["name"]) == ("r2", "slow")
    assert [rule.name for rule in run_time.rules()] == ["r1", "slow"]
    assert run_time.find("slow") == second
    assert run_time.find("r1") == first
    assert run_time.find("r3") is None


def test_names_are_unique(run_time: RunTimeRules) -> None:
    run_time.add({**RULE, "name": "slow"})
    with pytest.raises(RuleConflictError, match="'slow' is taken"):
        run_time.add({**RULE, "name": "slow"})
    with pytest.raises(RuleConflictError):
        run_time.replace([{**RULE, "name": "a"}, {**RULE, "name": "a"}])
    assert [rule["name"] for rule in run_time.documents()] == ["slow"]


def test_replace_and_remove(run_time: RunTimeRules) -> None:
    run_time.add({**RULE, "name": "old"})
    replaced = run_time.replace({"rules": [{**RULE, "name": "a"}, {**RULE, "name": "b"}]})
    assert [rule["name"] for rule in replaced] == ["a", "b"]
    assert run_time.remove("a") is not None
    assert run_time.remove("a") is None
    assert [rule["name"] for rule in run_time.documents()] == ["b"]


def test_the_compiled_rules_follow_the_stored_set(run_time: RunTimeRules) -> None:
    run_time.add(RULE)
    compiled = run_time.rules()
    assert run_time.rules() is compiled  # compiled once per change
    run_time.clear()
    assert run_time.rules() == ()


def test_the_count_and_size_are_bounded(run_time: RunTimeRules, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_module, "MAX_RULES", 3)
    run_time.replace([RULE, RULE, RULE])
    with pytest.raises(RulesError, match="at most 3 run-time rules"):
        run_time.add(RULE)
    huge = {**RULE, "when": {"prompt": {"contains": "x" * rules_module.MAX_RULE_BYTES}}}
    run_time.clear()
    with pytest.raises(RulesError, match="bytes as JSON"):
        run_time.add(huge)
    assert run_time.documents() == ()
