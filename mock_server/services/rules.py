"""Run-time reply rules: rules added, replaced and removed through `/_mixmock/rules` while the mock runs,
kept in the store (the SQLite file, or Redis) so that every worker and replica matches the same ones.

A rule is the rules file's rule as JSON (`name`, `operation`, `when`, `then`: `pipeline/scenario_rules.py`)
plus an `id` the mock gives (`r1`, `r2`, ... never reused in a store). Names are unique among the run-time
rules; a rule sent without one is named after its id. The store keeps the documents only; each process
compiles them (regular expressions included) once per change.

`RulesStore` is the backend's part: the whole set as one value, read cheaply (unchanged: the same object
back) and changed by an atomic read-modify-write. `RunTimeRules` holds what the API means: checks,
conflicts, the bounds, the order.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mock_server.pipeline.scenario_rules import Rule, RulesError, parse_rule
from mock_server.state.database import close_database, open_database
from mock_server.state.session_rows import SessionCache, SignalledDocuments

__all__ = [
    "MAX_RULES",
    "MAX_RULE_BYTES",
    "RuleConflictError",
    "RuleSet",
    "RulesStore",
    "RunTimeRules",
    "SQLiteRules",
]

MAX_RULES = 500  # run-time rules in one store
MAX_RULE_BYTES = 16 * 1024  # one rule, as compact JSON
_ID = re.compile(r"^r[1-9][0-9]*$")
_ORIGIN = "run-time rule"


class RuleConflictError(RulesError):
    """A rule name that another run-time rule already has."""


@dataclass(frozen=True)
class RuleSet:
    """The run-time rules as stored: documents with their ids, in match order, and the next id to give."""

    rules: tuple[Mapping[str, Any], ...] = ()
    next_id: int = 1

    def to_json(self) -> str:
        return json.dumps({"rules": list(self.rules), "next_id": self.next_id}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> RuleSet:
        if raw is None:
            return cls()
        data = json.loads(raw)
        return cls(tuple(data["rules"]), int(data["next_id"]))


class RulesStore(Protocol):
    """Where the run-time rules live, one set per session (a session without its own has none: never
    the default session's); a change made through any process is what the next `load` of every process
    returns. Methods raise StoreError on failure."""

    def load(self, session: str = "") -> RuleSet:
        """The session's current set; cheap, and the very same object while nothing changed."""
        ...

    def update(self, change: Callable[[RuleSet], RuleSet], session: str = "") -> RuleSet:
        """Replace the session's set with `change(current)` atomically; the new set. `change` may run
        more than once; when it raises, or returns `current` itself, nothing is written."""
        ...

    def close(self) -> None: ...


_TABLE = "CREATE TABLE IF NOT EXISTS runtime_rules (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)"
_READ = "SELECT doc FROM runtime_rules WHERE id = 1"


def _has_table(db: sqlite3.Connection) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runtime_rules'")
    return found.fetchone() is not None


def _read_rules(db: sqlite3.Connection) -> str | None:
    row = db.execute(_READ).fetchone() if _has_table(db) else None
    return None if row is None else str(row[0])


class SQLiteRules:
    """The run-time rules as one row of the job store's SQLite file, with a signal file beside it
    (`<store>-rules`, `state/signal.py`) so that a request costs a stat(), not a read transaction.
    Sessions other than the default keep theirs in `session_rules` (`state/session_rows.py`)."""

    def __init__(self, path: str) -> None:
        self._database = open_database(path)
        self._closed = False  # the table comes with the first change: a store without rules keeps its layout
        self._documents = SignalledDocuments(
            self._database, "rules", "session_rules", RuleSet.from_json, _read_rules
        )

    def load(self, session: str = "") -> RuleSet:
        return self._documents.get(session)

    def update(self, change: Callable[[RuleSet], RuleSet], session: str = "") -> RuleSet:
        with self._database.transaction() as db:  # the read and the write in one transaction
            if session:
                current = RuleSet.from_json(self._documents.rows.read(session, db))
            else:
                db.execute(_TABLE)
                row = db.execute(_READ).fetchone()
                current = RuleSet.from_json(None if row is None else row[0])
            changed = change(current)
            if changed is not current and session:
                self._documents.rows.write(db, session, changed.to_json())
            elif changed is not current:
                db.execute(
                    "INSERT OR REPLACE INTO runtime_rules (id, doc) VALUES (1, ?)", (changed.to_json(),)
                )
        if changed is not current:
            self._documents.changed()
        return changed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close_database(self._database)


def _checked(document: Any, index: int | None = None) -> dict[str, Any]:
    """A run-time rule as sent (no id yet), checked; RulesError naming the field."""
    where = "" if index is None else f"rules[{index}]: "
    if not isinstance(document, Mapping):
        raise RulesError(f"{where}a rule is a JSON object with name, operation, when, then; got {document!r}")
    if "id" in document:
        raise RulesError(f"{where}id={document['id']!r}: the mock gives each rule its id; leave it out", "id")
    name = document.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        raise RulesError(f"{where}name={name!r} must be a non-empty text of at most 200 characters", "name")
    if isinstance(name, str) and _ID.match(name):
        raise RulesError(f"{where}name={name!r} looks like a rule id (r1, r2...); choose another", "name")
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MAX_RULE_BYTES:
        raise RulesError(f"{where}the rule takes {size} bytes as JSON; at most {MAX_RULE_BYTES}")
    try:
        parse_rule(document, index or 0, _ORIGIN)
    except RulesError as error:
        raise RulesError(where + str(error), error.field) from None
    return dict(document)


def _with_ids(current: RuleSet, documents: Sequence[dict[str, Any]], kept: int) -> RuleSet:
    """`current`'s first `kept` rules, then `documents` with new ids; names unique, the count bounded."""
    rules = list(current.rules[:kept])
    next_id = current.next_id
    for document in documents:
        rule_id = f"r{next_id}"
        next_id += 1
        rules.append({"id": rule_id, **document, "name": document.get("name") or rule_id})
    names = [rule["name"] for rule in rules]
    taken = next((name for index, name in enumerate(names) if name in names[:index]), None)
    if taken is not None:
        raise RuleConflictError(f"name={taken!r} is taken: names are unique among run-time rules", "name")
    if len(rules) > MAX_RULES:
        raise RulesError(f"at most {MAX_RULES} run-time rules; remove some (DELETE) or replace them (PUT)")
    return RuleSet(tuple(rules), next_id)


def _find(rules: Sequence[Mapping[str, Any]], key: str) -> Mapping[str, Any] | None:
    by_id = next((rule for rule in rules if rule["id"] == key), None)
    return by_id if by_id is not None else next((rule for rule in rules if rule["name"] == key), None)


class RunTimeRules:
    """The run-time rules of one process: what the admin API does to them, and the compiled rules."""

    def __init__(self, store: RulesStore) -> None:
        self.store = store
        self._compiled_from: RuleSet | None = None
        self._compiled: tuple[Rule, ...] = ()
        self._sessions: SessionCache[tuple[RuleSet, tuple[Rule, ...]]] = SessionCache()

    def documents(self, session: str = "") -> tuple[Mapping[str, Any], ...]:
        return self.store.load(session).rules

    def rules(self, session: str = "") -> tuple[Rule, ...]:
        """The session's compiled rules, in match order (compiled again only after a change)."""
        current = self.store.load(session)
        if session:
            compiled = self._sessions.get(session, id(current))
            if compiled is None or compiled[0] is not current:
                compiled = self._sessions.put(session, id(current), (current, _compiled(current)))
            return compiled[1]
        if current is not self._compiled_from:
            self._compiled = _compiled(current)
            self._compiled_from = current
        return self._compiled

    def find(self, key: str, session: str = "") -> Mapping[str, Any] | None:
        """A rule by id, else by name."""
        return _find(self.documents(session), key)

    def add(self, document: Any, session: str = "") -> Mapping[str, Any]:
        """Append one rule (matched after the run-time rules before it); the rule with its id."""
        checked = _checked(document)
        updated = self.store.update(
            lambda current: _with_ids(current, [checked], len(current.rules)), session
        )
        return updated.rules[-1]

    def replace(self, documents: Any, session: str = "") -> tuple[Mapping[str, Any], ...]:
        """Replace every run-time rule with `documents` (a list, or an object with a `rules` list)."""
        if isinstance(documents, Mapping) and set(documents) == {"rules"}:
            documents = documents["rules"]
        if not isinstance(documents, list):
            raise RulesError(f"a list of rules, or an object with a `rules` list; got {documents!r}"[:300])
        checked = [_checked(document, index) for index, document in enumerate(documents)]
        return self.store.update(lambda current: _with_ids(current, checked, 0), session).rules

    def remove(self, key: str, session: str = "") -> Mapping[str, Any] | None:
        """Remove the rule with this id (else this name); the rule removed, None when there was none."""
        removed: list[Mapping[str, Any]] = []

        def without(current: RuleSet) -> RuleSet:
            removed.clear()
            found = _find(current.rules, key)
            if found is None:
                return current  # unchanged: nothing is written
            removed.append(found)
            return RuleSet(tuple(r for r in current.rules if r is not found), current.next_id)

        self.store.update(without, session)
        return removed[0] if removed else None

    def clear(self, session: str = "") -> None:
        self.store.update(
            lambda current: current if not current.rules else RuleSet((), current.next_id), session
        )


def _compiled(current: RuleSet) -> tuple[Rule, ...]:
    return tuple(
        parse_rule({k: v for k, v in doc.items() if k != "id"}, index, _ORIGIN)
        for index, doc in enumerate(current.rules)
    )
