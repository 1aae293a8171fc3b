"""The rule book: run-time rules before the file's, and a rules file read again when it changes (a bad
edit keeps the last good rules and logs one line)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.pipeline.scenario_rules import load_rules
from mock_server.services.rule_book import PRECEDENCE, RuleBook, RulesFile
from mock_server.services.rules import RunTimeRules, SQLiteRules

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

GOOD = "rules: [{name: queued, operation: img_mixer, then: {scenario: processing}}]\n"


def write(path: Path, text: str) -> None:
    """Write `text` and move the modification time on, as an editor's save a moment later would."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


@pytest.fixture
def rules_file(tmp_path: Path) -> RulesFile:
    path = tmp_path / "rules.yaml"
    write(path, GOOD)
    return RulesFile(str(path), load_rules(str(path)))


@pytest.fixture
def book(tmp_path: Path, rules_file: RulesFile) -> Iterator[RuleBook]:
    store = SQLiteRules(str(tmp_path / "jobs.sqlite3"))
    yield RuleBook(RunTimeRules(store), rules_file)
    store.close()


def test_an_unchanged_file_is_not_read_again(rules_file: RulesFile) -> None:
    rules = rules_file.rules
    assert not rules_file.check()
    assert rules_file.rules is rules


def test_an_edit_replaces_the_files_rules(rules_file: RulesFile) -> None:
    assert rules_file.path is not None
    write(Path(rules_file.path), GOOD.replace("queued", "renamed"))
    assert rules_file.check()
    assert [rule.name for rule in rules_file.rules] == ["renamed"]
    assert rules_file.error is None


def test_a_bad_edit_keeps_the_last_good_rules_and_logs_one_line(
    rules_file: RulesFile, caplog: pytest.LogCaptureFixture
) -> None:
    assert rules_file.path is not None
    path = Path(rules_file.path)
    caplog.set_level(logging.INFO, logger="mixmock.rules")
    write(path, "rules: [{then: {scenario: later}}]\n")
    for _ in range(3):
        assert not rules_file.check()
    assert [rule.name for rule in rules_file.rules] == ["queued"]
    assert rules_file.error is not None
    assert "scenario='later'" in rules_file.error
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1
    assert str(path) in lines[0]
    assert "keeping the 1 rule(s) loaded before" in lines[0]
    write(path, GOOD)
    assert rules_file.check()
    assert rules_file.error is None


def test_a_removed_file_keeps_the_last_good_rules(rules_file: RulesFile) -> None:
    assert rules_file.path is not None
    os.remove(rules_file.path)
    assert not rules_file.check()
    assert [rule.name for rule in rules_file.rules] == ["queued"]
    assert rules_file.error is not None
    assert "cannot read rules file" in rules_file.error


def test_run_time_rules_come_before_the_files(book: RuleBook) -> None:
    book.run_time.add({"name": "mine", "then": {"scenario": "failed"}})
    assert [rule.name for rule in book.rules()] == ["mine", "queued"]
    assert book.rules() is book.rules()  # the same tuple while nothing changed
    state = book.state()
    assert state["precedence"] == PRECEDENCE
    assert [(entry["source"], entry["id"], entry["name"]) for entry in state["rules"]] == [
        ("api", "r1", "mine"),
        ("file", "file-1", "queued"),
    ]
    assert state["file"]["rules"] == 1
    assert book.find("file-1") == state["rules"][1]
    assert book.find("queued") == state["rules"][1]
    assert book.find("mine") == state["rules"][0]
