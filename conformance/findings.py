"""What the audit found: each check that ran, one finding per operation, subject and constraint; baselines.

A check is a named question asked of one operation ("reply matches the branch its status names",
"steps: maximum 50"). Every check that runs is recorded, so reports list the passes as well as the
findings; a finding names the check it failed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from openapi.provenance import SOURCES, Source

__all__ = [
    "CheckRun",
    "Finding",
    "Ledger",
    "Observation",
    "load_baseline",
    "write_baseline",
]


@dataclass(frozen=True)
class Finding:
    """`img_mixer guidance_scale: maximum 20, sent 21, accepted`."""

    operation: str
    subject: str  # a request parameter, or a contract check such as `reply.meta.H`
    constraint: str
    sent: str
    outcome: str
    tier: str
    provenance: Source = "pages"  # where the broken constraint comes from
    check: str = ""  # the check that found it (a report row); its key's subject and constraint if empty
    exchange: int = 0  # the cassette entry (line of cassette.ndjson) of the exchange that shows it
    curl: str = ""  # a one-line reproducer, the key as $MIXMOCK_AUDIT_KEY

    @property
    def key(self) -> str:
        return f"{self.operation} {self.subject}: {self.constraint}"

    def __str__(self) -> str:
        return f"{self.key}, sent {self.sent}, {self.outcome}"


@dataclass(frozen=True)
class Observation:
    """One ranges probe for the parameter x constraint matrix: what was expected and what came back."""

    operation: str
    parameter: str
    constraint: str
    sent: str
    expected: str  # "accept" | "reject"
    observed: str  # "accepted" | "rejected" | "failed" | "server error" | "unreadable" | "no reply"
    provenance: Source = "pages"
    exchange: int = 0

    @property
    def conforms(self) -> bool:
        return self.observed == {"accept": "accepted", "reject": "rejected"}[self.expected]


@dataclass(frozen=True)
class CheckRun:
    """A check as the reports list it: how often it ran, in which tiers, and what it found."""

    operation: str
    check: str
    tiers: tuple[str, ...]
    runs: int
    findings: tuple[str, ...]  # finding keys, in the order found
    skipped: str = ""  # why it could not be judged (an image on a host the audit may not download from)

    @property
    def passed(self) -> bool:
        return not self.findings and not self.skipped


class Ledger:
    """Every check run and every finding, the first of each key kept, repeats counted."""

    def __init__(self) -> None:
        self._by_key: dict[str, Finding] = {}
        self.repeats: dict[str, int] = {}
        self._runs: dict[tuple[str, str], list[str]] = {}  # (operation, check) -> tiers, one per run
        self._found: dict[tuple[str, str], list[str]] = {}
        self._skipped: dict[tuple[str, str], str] = {}

    def ran(self, operation: str, check: str, tier: str) -> None:
        self._runs.setdefault((operation, check), []).append(tier)

    def skip(self, operation: str, check: str, tier: str, reason: str) -> None:
        self.ran(operation, check, tier)
        self._skipped.setdefault((operation, check), reason)

    def add(self, finding: Finding, check: str = "") -> None:
        """Records a finding of `check` (which is recorded as run); the first finding of a key is kept."""
        check = check or finding.check or f"{finding.subject}: {finding.constraint}"
        finding = dataclasses.replace(finding, check=check)
        if (finding.operation, check) not in self._runs:
            self.ran(finding.operation, check, finding.tier)
        found = self._found.setdefault((finding.operation, check), [])
        if finding.key not in found:
            found.append(finding.key)
        if finding.key in self._by_key:
            self.repeats[finding.key] = self.repeats.get(finding.key, 0) + 1
        else:
            self._by_key[finding.key] = finding

    def __len__(self) -> int:
        return len(self._by_key)

    def findings(self) -> list[Finding]:
        return list(self._by_key.values())

    def keys(self) -> set[str]:
        return set(self._by_key)

    def checks(self) -> list[CheckRun]:
        return [
            CheckRun(
                operation,
                check,
                tuple(dict.fromkeys(tiers)),
                len(tiers),
                tuple(self._found.get((operation, check), [])),
                self._skipped.get((operation, check), "") if not self._found.get((operation, check)) else "",
            )
            for (operation, check), tiers in self._runs.items()
        ]


def load_baseline(path: Path) -> dict[str, Finding]:
    """The findings a baseline file accepts as known, by key."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read baseline {str(path)!r}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ValueError(f"baseline {str(path)!r} is not a mixmock audit baseline (no 'findings' list)")
    known: dict[str, Finding] = {}
    names = {field.name for field in dataclasses.fields(Finding)}
    for entry in document["findings"]:
        if isinstance(entry, dict) and "key" in entry:
            values = {name: entry[name] for name in names if isinstance(entry.get(name), str | int)}
            if values.get("provenance") not in SOURCES:
                values.pop("provenance", None)
            known[str(entry["key"])] = _baseline_finding(str(entry["key"]), values)
    return known


def _baseline_finding(key: str, values: dict[str, str | int]) -> Finding:
    """The finding a baseline entry describes; an entry with its key alone still names its operation."""
    operation, _, rest = key.partition(" ")
    subject, _, constraint = rest.partition(": ")
    base = Finding(operation, subject, constraint, "", "", "")
    return dataclasses.replace(base, **values)  # type: ignore[arg-type]


def write_baseline(path: Path, findings: Iterable[Finding]) -> None:
    entries = [{"key": finding.key, **asdict(finding)} for finding in findings]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"findings": entries}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
