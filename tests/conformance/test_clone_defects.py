"""An independent reimplementation with one planted defect at a time: each is caught by the tier a user
would expect, by a named finding; the correct clone gives none, and a clone that follows the vendor's
pages but not the kit's inferences passes by default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conformance.clone import Clone
from tests.conformance.conftest import audit_clone

pytestmark = pytest.mark.conformance


# The create operation audited -> it and its fetch operation.
OPERATIONS = {
    "img_mixer": ("img_mixer", "fetch_v6"),
    "magic_mix_enterprise": ("magic_mix_enterprise", "fetch_enterprise"),
    "magic_mix_v5": ("magic_mix_v5", "fetch_v5"),
}
TIERS = ("smoke", "ranges", "stateful", "webhooks")
# class of defect -> the defects planted for it (a file of its own: a long table reads better there)
TABLE: dict[str, list[dict[str, str]]] = yaml.safe_load(
    (Path(__file__).parent / "planted_defects.yaml").read_text(encoding="utf-8")
)


@dataclass(frozen=True)
class Planted:
    issue_class: str  # the class of defect (issue 11's list, 1-10)
    defect: str
    tier: str  # the tier a user would expect to catch it ("webhooks": --webhooks)
    operation: str  # the create operation audited
    finding: str  # the key of the finding that names it

    @property
    def operations(self) -> tuple[str, ...]:
        return OPERATIONS[self.operation]


PLANTED = tuple(Planted(issue_class, **row) for issue_class, rows in TABLE.items() for row in rows)


def _run(url: str, planted: Planted) -> list[str]:
    webhooks = planted.tier == "webhooks"
    tiers = ("smoke",) if webhooks else (planted.tier,)
    result = audit_clone(
        url, tiers=tiers, operations=planted.operations, webhooks=webhooks, webhook_timeout=2.0
    )
    return [finding.key for finding in result.findings]


@pytest.mark.parametrize("planted", PLANTED, ids=[planted.defect for planted in PLANTED])
def test_the_expected_tier_catches_the_planted_defect(clone: tuple[Clone, str], planted: Planted) -> None:
    target, url = clone
    target.reset(planted.defect)
    keys = _run(url, planted)
    assert planted.finding in keys, f"{planted.defect}: {keys}"


def test_every_class_of_the_issue_is_planted() -> None:
    classes = {planted.issue_class.split(" ")[0] for planted in PLANTED}
    assert classes == {str(number) for number in range(1, 11)}
    assert len({planted.defect for planted in PLANTED}) == len(PLANTED)


def test_every_row_of_the_table_is_well_formed() -> None:
    assert all(re.fullmatch(r"(10|[1-9]) [a-z ]+", issue_class) for issue_class in TABLE), list(TABLE)
    for issue_class, rows in TABLE.items():
        assert isinstance(rows, list), issue_class
        assert rows, issue_class
        for row in rows:
            assert set(row) == {"defect", "tier", "operation", "finding"}, row
            assert all(isinstance(value, str) and value for value in row.values()), row
            assert row["tier"] in TIERS, row
            assert row["operation"] in OPERATIONS, row
            assert row["finding"].split(" ")[0] in OPERATIONS[row["operation"]], row


def test_the_correct_clone_gives_no_finding_in_any_tier(clone: tuple[Clone, str]) -> None:
    _, url = clone
    result = audit_clone(url, tiers=("smoke", "ranges", "full", "stateful"), webhooks=True)
    assert [str(finding) for finding in result.findings] == []
    assert result.verdict == "conformant"
    assert [stats.tier for stats in result.tiers] == ["smoke", "ranges", "full", "stateful", "webhooks"]
    assert all(check.passed for check in result.checks)


def test_a_clone_of_the_pages_alone_passes_by_default_and_fails_on_inferred(clone: tuple[Clone, str]) -> None:
    target, url = clone
    target.reset(pages_only=True)
    result = audit_clone(url, tiers=("ranges",), operations=("magic_mix_v5",))
    assert result.verdict == "conformant"
    assert result.failing == []
    reported = {finding.key for finding in result.reported}
    assert {
        "magic_mix_v5 prompt: minLength 1",
        "magic_mix_v5 width: maximum 1024",
        "magic_mix_v5 kmin: minimum 0",
        "magic_mix_v5 kmax,steps: rule layout-phase-runs",
        "magic_mix_v5 samples: minimum 1",
    } <= reported
    assert {finding.provenance for finding in result.reported} == {"inferred"}
    strict = audit_clone(url, tiers=("ranges",), operations=("magic_mix_v5",), fail_on="inferred")
    assert strict.verdict == "not conformant"
    assert {finding.key for finding in strict.failing} == reported


def test_the_cross_field_finding_shows_the_values_sent(clone: tuple[Clone, str]) -> None:
    target, url = clone
    target.reset(pages_only=True)
    result = audit_clone(url, tiers=("ranges",), operations=("magic_mix_enterprise",))
    rule = next(f for f in result.findings if f.constraint == "rule layout-phase-runs")
    assert re.fullmatch(r"kmax=[0-9.]+, steps=[0-9]+", rule.sent), rule.sent
    assert rule.outcome == "accepted"
    assert "kmax" in rule.curl
    assert "$MIXMOCK_AUDIT_KEY" in rule.curl
