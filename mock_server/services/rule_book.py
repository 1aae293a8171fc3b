"""Every reply rule a request is matched against: the run-time rules (`/_mixmock/rules`) first, in the
order they were added, then the rules file's (`--rules`), in file order; the first rule that matches
decides. Run-time rules come first because they are what a test set just now, over the file that holds
for the whole run (as a request's Prefer header comes before both).

The rules file is read again when it changes (its modification time, size or inode: `RulesFile.check`,
polled every `--rules-poll` seconds). An edit that does not parse keeps the rules loaded before and logs
one line naming the problem; the next good edit replaces them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from mock_server.pipeline.scenario_rules import Rule, RulesError, load_rules
from mock_server.services.rules import RunTimeRules

__all__ = ["PRECEDENCE", "RuleBook", "RulesFile"]

log = logging.getLogger("mixmock.rules")
PRECEDENCE = (
    "run-time rules (this API) first, in the order they were added, then the rules file's; "
    "the first rule that matches a request decides, and a request's Prefer header wins over it"
)
_Signature = tuple[int, int, int]


def _signature(path: str) -> _Signature | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class RulesFile:
    """The rules file's last good rules, and why the latest edit could not replace them (if it could not)."""

    def __init__(self, path: str | None, rules: Sequence[Rule] = ()) -> None:
        self.path = path
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.error: str | None = None
        self._signature = None if path is None else _signature(path)

    def check(self) -> bool:
        """Read the file again if it changed since the last look; whether its rules were replaced."""
        if self.path is None:
            return False
        signature = _signature(self.path)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            rules = load_rules(self.path)
        except RulesError as error:
            self.error = str(error)
            log.warning(
                "rules file %s: %s; keeping the %d rule(s) loaded before", self.path, error, len(self.rules)
            )
            return False
        self.rules, self.error = tuple(rules), None
        log.info("rules file %s reloaded: %d rule(s)", self.path, len(rules))
        return True


class RuleBook:
    """The rules of one process, in match order."""

    def __init__(self, run_time: RunTimeRules, file: RulesFile) -> None:
        self.run_time = run_time
        self.file = file
        self._parts: tuple[tuple[Rule, ...], tuple[Rule, ...]] = ((), ())
        self._all: tuple[Rule, ...] = ()

    def rules(self, session: str = "") -> tuple[Rule, ...]:
        """The session's run-time rules, then the file's (a new tuple only after either changed)."""
        if session:
            return self.run_time.rules(session) + self.file.rules
        parts = (self.run_time.rules(), self.file.rules)
        if parts[0] is not self._parts[0] or parts[1] is not self._parts[1]:
            self._parts, self._all = parts, parts[0] + parts[1]
        return self._all

    def listing(self, session: str = "") -> list[dict[str, Any]]:
        """Every rule as `GET /_mixmock/rules` shows it, in match order, each with its source."""
        run_time = [{"source": "api", **document} for document in self.run_time.documents(session)]
        return run_time + [_file_entry(index, rule) for index, rule in enumerate(self.file.rules)]

    def find(self, key: str, session: str = "") -> dict[str, Any] | None:
        """A rule by id (`r3`, `file-2`), else by name; run-time rules first."""
        entries = self.listing(session)
        by_id = next((entry for entry in entries if entry["id"] == key), None)
        return by_id if by_id is not None else next((e for e in entries if e["name"] == key), None)

    def state(self, session: str = "") -> dict[str, Any]:
        return {
            "precedence": PRECEDENCE,
            "rules": self.listing(session),
            "file": None
            if self.file.path is None
            else {"path": self.file.path, "rules": len(self.file.rules), "error": self.file.error},
        }


def _file_entry(index: int, rule: Rule) -> dict[str, Any]:
    document: Mapping[str, Any] = rule.document
    return {"source": "file", "id": f"file-{index + 1}", **document, "name": rule.name}
