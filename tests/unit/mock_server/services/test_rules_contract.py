"""The run-time rules contract on every store backend: one set shared by every process, each change
atomic, seen by the next read of every process, and nothing written by a change that fails."""

from __future__ import annotations

import threading

import pytest

from mock_server.services.rules import RuleSet, RunTimeRules
from tests.conftest import StateOpener

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

RULE = {"operation": "img_mixer", "when": {"steps": 41}, "then": {"scenario": "processing"}}


def test_no_rules_at_first_and_an_unchanged_set_is_the_same_object(open_state: StateOpener) -> None:
    store = open_state().rules
    first = store.load()
    assert first == RuleSet()
    assert store.load() is first


def test_a_change_through_one_process_is_seen_by_the_others_at_once(open_state: StateOpener) -> None:
    first, second = open_state().rules, open_state().rules
    before = second.load()  # read (and kept) before the change
    added = RuleSet(({"id": "r1", "name": "r1", **RULE},), next_id=2)
    first.update(lambda current: added)
    seen = second.load()
    assert seen is not before
    assert seen == added
    assert first.load() == added
    assert second.load() is seen  # read once per change


def test_a_change_that_raises_or_changes_nothing_writes_nothing(open_state: StateOpener) -> None:
    first, second = open_state().rules, open_state().rules
    first.update(lambda current: RuleSet(({"id": "r1", "name": "a", **RULE},), 2))
    kept = second.load()

    def broken(current: RuleSet) -> RuleSet:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        first.update(broken)
    assert first.update(lambda current: current) == kept
    assert second.load() is kept  # nothing was signalled either


def test_concurrent_changes_from_two_processes_keep_both(open_state: StateOpener) -> None:
    views = [RunTimeRules(open_state().rules) for _ in range(2)]
    errors: list[BaseException] = []

    def add(view: RunTimeRules, tag: str) -> None:
        try:
            for index in range(15):
                view.add({**RULE, "name": f"{tag}-{index}"})
        except BaseException as error:  # reported below: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=add, args=(view, tag)) for view, tag in zip(views, "ab", strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=50)
    assert errors == []
    documents = views[0].documents()
    assert sorted(rule["name"] for rule in documents) == sorted(f"{t}-{i}" for t in "ab" for i in range(15))
    assert len({rule["id"] for rule in documents}) == 30
    assert views[1].documents() == documents


def test_ids_are_never_given_twice(open_state: StateOpener) -> None:
    rules = RunTimeRules(open_state().rules)
    first = rules.add(RULE)
    rules.clear()
    second = rules.add(RULE)
    rules.replace([RULE])
    assert [first["id"], second["id"], rules.documents()[0]["id"]] == ["r1", "r2", "r3"]


def test_the_set_survives_reopening(open_state: StateOpener) -> None:
    first = open_state()
    RunTimeRules(first.rules).add({**RULE, "name": "kept"})
    first.close()
    assert [rule["name"] for rule in RunTimeRules(open_state().rules).documents()] == ["kept"]


def test_each_session_has_its_own_rules_seen_by_every_process(open_state: StateOpener) -> None:
    first, second = open_state().rules, open_state().rules
    assert second.load("t1") == RuleSet()
    mine = RuleSet(({"id": "r1", "name": "r1", **RULE},), next_id=2)
    first.update(lambda current: mine, "t1")
    assert second.load("t1") == mine
    assert second.load("t1") is second.load("t1")  # unchanged: the same object
    assert second.load() == RuleSet()
    assert second.load("t2") == RuleSet()
    compiled = RunTimeRules(second)
    assert [rule.name for rule in compiled.rules("t1")] == ["r1"]
    assert compiled.rules() == ()
    RunTimeRules(first).clear("t1")
    assert compiled.rules("t1") == ()
    assert second.load("t1").next_id == 2  # ids are never reused within a session
