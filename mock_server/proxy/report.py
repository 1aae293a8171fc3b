"""The learn report as a person reads it (`learn.md`) and as a program does (`learn.json`)."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Difference", "LearnReport", "QuirkEvidence", "write_report"]


@dataclass
class QuirkEvidence:
    name: str
    description: str
    verdict: str  # "seen" | "seen elsewhere" | "not seen" | "no evidence"
    seen_in_scope: int = 0
    in_scope: int = 0  # bodies the observed profile applies it to
    seen_elsewhere: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Difference:
    """A difference with the documented contract that no quirk explains, counted over the recording."""

    operation: str
    where: str
    status: str
    field: str
    keyword: str
    message: str
    count: int = 0
    out_of: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)
    values: list[str] = dataclasses.field(default_factory=list)


@dataclass
class LearnReport:
    sources: list[str]
    counts: dict[str, int]
    quirks: list[QuirkEvidence]
    differences: list[Difference]

    @property
    def suggested(self) -> list[str]:
        return [quirk.name for quirk in self.quirks if quirk.verdict in {"seen", "seen elsewhere"}]

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "suggested_quirks": self.suggested}

    def as_text(self) -> str:
        return _render(self)


_KINDS = (
    ("create", "create", "creates"),
    ("fetch", "fetch", "fetches"),
    ("webhook", "webhook", "webhooks"),
    ("download", "download", "downloads"),
    ("other", "other exchange", "other exchanges"),
    ("jobs", "job", "jobs"),
)
_VERDICTS = {
    "seen": "seen",
    "seen elsewhere": "seen, but not where the profile applies it",
    "not seen": "not seen where the profile applies it",
    "no evidence": "no evidence (nothing recorded where it could show)",
}


def _render(report: LearnReport) -> str:
    counts = ", ".join(
        f"{report.counts.get(kind, 0)} {word if report.counts.get(kind, 0) == 1 else plural}"
        for kind, word, plural in _KINDS
    )
    lines = [
        "# What the vendor showed",
        "",
        f"From {', '.join(report.sources) or 'no recording'}: {counts or 'nothing'}.",
        "",
        "## The observed profile's quirks",
        "",
        "| quirk | verdict | where the profile applies it | elsewhere | for example |",
        "|---|---|---|---|---|",
    ]
    for quirk in report.quirks:
        lines.append(
            f"| `{quirk.name}` | {_VERDICTS[quirk.verdict]} | {quirk.seen_in_scope} of {quirk.in_scope} "
            f"| {quirk.seen_elsewhere} | {'; '.join(quirk.examples)} |"
        )
    lines += ["", "## Differences no quirk explains", ""]
    if not report.differences:
        lines.append("None: every other field is as documented.")
    by_operation: defaultdict[str, list[Difference]] = defaultdict(list)
    for difference in report.differences:
        by_operation[difference.operation].append(difference)
    for operation, differences in by_operation.items():
        lines.append(f"### {operation}")
        for d in differences:
            values = f"; got {', '.join(d.values)}" if d.values else ""
            lines.append(
                f"- {d.status} {d.where}, `{d.field}` ({d.keyword}): {d.message}{values} "
                f"- {d.count} of {d.out_of} ({', '.join(d.examples)})"
            )
    flags = " ".join(f"--quirk {name}" for name in report.suggested)
    lines += ["", "## Suggested quirk list", ""]
    lines.append(
        f"    mixmock serve --profile observed {flags}" if flags else "None of the known quirks was seen."
    )
    unsure = [quirk.name for quirk in report.quirks if quirk.verdict == "no evidence"]
    if unsure:
        lines.append(
            f"\nNo evidence either way for {', '.join(unsure)}: record a reply where each could show."
        )
    return "\n".join(lines) + "\n"


def write_report(report: LearnReport, directory: str | Path) -> tuple[Path, Path]:
    """`learn.md` and `learn.json` in `directory`."""
    folder = Path(directory)
    text, data = folder / "learn.md", folder / "learn.json"
    text.write_text(report.as_text(), encoding="utf-8")
    data.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return text, data
