"""What the audit found: one finding per operation, subject and constraint; the baseline of known ones."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Finding", "Findings", "Observation", "load_baseline", "write_baseline"]


@dataclass(frozen=True)
class Finding:
    """`img_mixer guidance_scale: maximum 20, sent 21, accepted`."""

    operation: str
    subject: str  # a request parameter, or a contract check such as `reply.meta.H`
    constraint: str
    sent: str
    outcome: str
    tier: str

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
    observed: str  # "accepted" | "rejected" | "failed" | "server error" | "unreadable"

    @property
    def conforms(self) -> bool:
        return self.observed == {"accept": "accepted", "reject": "rejected"}[self.expected]


class Findings:
    """Findings in the order found, the first of each key kept, repeats counted."""

    def __init__(self) -> None:
        self._by_key: dict[str, Finding] = {}
        self.repeats: dict[str, int] = {}

    def add(self, finding: Finding) -> None:
        if finding.key in self._by_key:
            self.repeats[finding.key] = self.repeats.get(finding.key, 0) + 1
        else:
            self._by_key[finding.key] = finding

    def __len__(self) -> int:
        return len(self._by_key)

    def all(self) -> list[Finding]:
        return list(self._by_key.values())

    def keys(self) -> set[str]:
        return set(self._by_key)


def load_baseline(path: Path) -> set[str]:
    """The finding keys a baseline file accepts as known."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read baseline {str(path)!r}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ValueError(f"baseline {str(path)!r} is not a mixmock audit baseline (no 'findings' list)")
    return {str(entry["key"]) for entry in document["findings"] if isinstance(entry, dict) and "key" in entry}


def write_baseline(path: Path, findings: Iterable[Finding]) -> None:
    entries = [{"key": finding.key, **asdict(finding)} for finding in findings]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"findings": entries}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
