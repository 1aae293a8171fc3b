"""The real mock with one defect injected: each caught by the tier a user would expect, by a named finding."""

from __future__ import annotations

import pytest

from mock_server.app import create_app
from mock_server.tooling.testing import running_server
from tests.conformance.conftest import audit, mock_settings
from tests.conformance.defects import DEFECTS, DefectCase, wrap

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("defect", DEFECTS, ids=[defect.name for defect in DEFECTS])
def test_the_expected_tier_catches_the_defect(defect: DefectCase) -> None:
    app = wrap(create_app(mock_settings()), defect)
    with running_server(app) as url:
        result = audit(url, tiers=(defect.tier,), operations=defect.operations, job_timeout=1.0)
    keys = [finding.key for finding in result.findings]
    assert defect.expected in keys, f"{defect.name}: {keys}"


def test_at_least_twelve_distinct_defects_are_covered() -> None:
    assert len({defect.expected for defect in DEFECTS}) >= 12
